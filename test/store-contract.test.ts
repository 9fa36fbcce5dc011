import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { GatewayStore, NewTask, Reservation } from '../src/store/types.js'
import { openStore, STORE_KINDS } from './helpers/stores.js'

const NOW = Date.UTC(2026, 10, 27, 12)
const DAY = '2026-11-27'
const HOUR = 3_600_000

const reservation = (id: string, seconds = 6, tenantId = 'acme'): Reservation => ({
  id,
  tenantId,
  seconds,
  day: DAY,
  expiresAt: NOW + 2 * HOUR,
})

const task = (taskId: string, recordedAt = NOW, tenantId = 'acme'): NewTask => ({
  taskId,
  tenantId,
  keyId: `${tenantId}-key`,
  model: 'Gemini-Omini',
  billableSeconds: 6,
  resolution: '720p',
  recordedAt,
  upstreamCreatedAt: Math.floor(recordedAt / 1000),
  status: 'queued',
})

describe.each(STORE_KINDS)('the %s store', (kind) => {
  let store: GatewayStore
  beforeEach(async () => {
    store = await openStore(kind)
  })
  afterEach(async () => {
    await store.close()
  })

  it('refuses a reservation once max_concurrent_tasks slots are held, and frees one on release', async () => {
    const limits = { maxConcurrentTasks: 2 }
    expect(await store.reserve(reservation('r1'), limits, NOW)).toEqual({ ok: true })
    expect(await store.reserve(reservation('r2'), limits, NOW)).toEqual({ ok: true })
    expect(await store.reserve(reservation('r3'), limits, NOW)).toEqual({
      ok: false,
      reason: 'concurrency',
      inFlight: 2,
    })
    await store.release(reservation('r1'))
    expect(await store.reserve(reservation('r3'), limits, NOW)).toEqual({ ok: true })
  })

  it('lets a day reach daily_video_seconds exactly and refuses one second more', async () => {
    const limits = { dailyVideoSeconds: 16 }
    expect(await store.reserve(reservation('a', 10), limits, NOW)).toEqual({ ok: true })
    expect(await store.reserve(reservation('b', 8), limits, NOW)).toEqual({
      ok: false,
      reason: 'quota',
      used: 10,
    })
    expect(await store.reserve(reservation('c', 6), limits, NOW)).toEqual({ ok: true })
    expect((await store.today('acme', DAY, NOW)).secondsUsed).toBe(16)
  })

  it('gives the seconds back when a reservation is released, once', async () => {
    await store.reserve(reservation('a', 10), {}, NOW)
    await store.release(reservation('a', 10))
    await store.release(reservation('a', 10))
    expect(await store.today('acme', DAY, NOW)).toEqual({ secondsUsed: 0, inFlight: 0 })
  })

  it('stops counting a slot in flight after its maximum age', async () => {
    await store.reserve(reservation('old'), {}, NOW)
    expect((await store.today('acme', DAY, NOW + 2 * HOUR - 1)).inFlight).toBe(1)
    expect((await store.today('acme', DAY, NOW + 2 * HOUR)).inFlight).toBe(0)
    const limits = { maxConcurrentTasks: 1 }
    expect(await store.reserve(reservation('new'), limits, NOW + 2 * HOUR)).toEqual({ ok: true })
  })

  it('turns a reservation into a recorded task that stays in flight until it ends', async () => {
    await store.reserve(reservation('r1'), {}, NOW)
    await store.recordCreated(task('t1'), reservation('r1'))
    expect(await store.today('acme', DAY, NOW)).toEqual({ secondsUsed: 6, inFlight: 1 })
    await store.recordStatus('t1', { status: 'processing', answer: '{}', checkedAt: NOW })
    expect((await store.today('acme', DAY, NOW)).inFlight).toBe(1)
    await store.recordStatus('t1', { status: 'failed', answer: '{"code":"20000"}', checkedAt: NOW })
    await store.recordStatus('t1', { status: 'failed', answer: '{"code":"20000"}', checkedAt: NOW + 1 })
    expect((await store.today('acme', DAY, NOW)).inFlight).toBe(0)
    expect(await store.usage('acme', DAY, DAY)).toEqual([
      { date: DAY, model: 'Gemini-Omini', tasks: 1, failed: 1, video_seconds: 6 },
    ])
    expect(await store.findOwned('acme', 't1')).toMatchObject({
      status: 'failed',
      lastAnswer: '{"code":"20000"}',
      lastCheckedAt: NOW + 1,
    })
  })

  it('finds a task only for the tenant that owns it', async () => {
    await store.reserve(reservation('r1'), {}, NOW)
    await store.recordCreated(task('t1'), reservation('r1'))
    expect(await store.findOwned('acme', 't1')).toMatchObject({
      taskId: 't1',
      keyId: 'acme-key',
      billableSeconds: 6,
    })
    expect(await store.findOwned('other', 't1')).toBeUndefined()
    expect(await store.findOwned('acme', 'missing')).toBeUndefined()
  })

  it('lists a tenant’s tasks newest first and pages past tasks recorded in the same millisecond', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    for (const [i, id] of ids.entries()) {
      await store.reserve(reservation(`r-${id}`), {}, NOW)
      await store.recordCreated(task(id, NOW + (i < 3 ? 0 : i)), reservation(`r-${id}`))
    }
    await store.reserve(reservation('r-x', 6, 'other'), {}, NOW)
    await store.recordCreated(task('x', NOW, 'other'), reservation('r-x', 6, 'other'))
    const first = await store.listOwned('acme', 2)
    const last1 = first.at(-1)
    const second = await store.listOwned(
      'acme',
      2,
      last1 && { recordedAt: last1.recordedAt, taskId: last1.taskId },
    )
    const last2 = second.at(-1)
    const third = await store.listOwned(
      'acme',
      2,
      last2 && { recordedAt: last2.recordedAt, taskId: last2.taskId },
    )
    expect([...first, ...second, ...third].map((t) => t.taskId)).toEqual(['e', 'd', 'c', 'b', 'a'])
  })

  it('hands out an allowance exactly max times, and takes a refunded use back', async () => {
    // Allowances expire on the wall clock, like the browser tokens they count for.
    const expiresAt = Date.now() + HOUR
    const results = await Promise.all(
      Array.from({ length: 10 }, () => store.consumeAllowance('token-1', 3, expiresAt)),
    )
    expect(results.filter(Boolean)).toHaveLength(3)
    await store.refundAllowance('token-1')
    expect(await store.consumeAllowance('token-1', 3, expiresAt)).toBe(true)
    expect(await store.consumeAllowance('token-1', 3, expiresAt)).toBe(false)
    expect(await store.consumeAllowance('token-2', 3, expiresAt)).toBe(true)
  })

  describe('idempotency keys', () => {
    const timing = { now: NOW, keepMs: 24 * HOUR, pendingMs: 60_000 }

    it('replays a completed answer for the same body and refuses a different one', async () => {
      expect(await store.beginIdempotent('acme', 'k1', 'fp-1', timing)).toEqual({ state: 'started' })
      expect(await store.beginIdempotent('acme', 'k1', 'fp-1', timing)).toEqual({ state: 'in-flight' })
      await store.completeIdempotent('acme', 'k1', 200, '{"code":"20000"}')
      expect(await store.beginIdempotent('acme', 'k1', 'fp-1', timing)).toEqual({
        state: 'replay',
        status: 200,
        body: '{"code":"20000"}',
      })
      expect(await store.beginIdempotent('acme', 'k1', 'fp-2', timing)).toEqual({ state: 'mismatch' })
    })

    it('scopes a key to its tenant', async () => {
      await store.beginIdempotent('acme', 'k1', 'fp-1', timing)
      expect(await store.beginIdempotent('other', 'k1', 'fp-2', timing)).toEqual({ state: 'started' })
    })

    it('frees a key after a failed first answer, and forgets answers after 24 h', async () => {
      await store.beginIdempotent('acme', 'k1', 'fp-1', timing)
      await store.abandonIdempotent('acme', 'k1')
      expect(await store.beginIdempotent('acme', 'k1', 'fp-2', timing)).toEqual({ state: 'started' })
      await store.completeIdempotent('acme', 'k1', 200, 'first')
      await store.abandonIdempotent('acme', 'k1')
      const later = { ...timing, now: NOW + 24 * HOUR }
      expect(await store.beginIdempotent('acme', 'k1', 'fp-3', later)).toEqual({ state: 'started' })
    })

    it('stops an unfinished first request from blocking its key after the pending window', async () => {
      await store.beginIdempotent('acme', 'k1', 'fp-1', timing)
      const later = { ...timing, now: NOW + 60_000 }
      expect(await store.beginIdempotent('acme', 'k1', 'fp-1', later)).toEqual({ state: 'started' })
    })
  })
})
