import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Delivery, GatewayStore, NewTask, Reservation } from '../src/store/types.js'
import { openStore, STORE_KINDS } from './helpers/stores.js'

const NOW = Date.UTC(2026, 10, 27, 12)
const DAY = '2026-11-27'
const HOUR = 3_600_000

const reservation = (id: string, seconds = 6, tenantId = 'acme', held = true): Reservation => ({
  id,
  tenantId,
  seconds,
  day: DAY,
  expiresAt: NOW + 2 * HOUR,
  held,
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

  it('counts the seconds of a task whose reservation was not held once, when it is recorded', async () => {
    const notHeld = reservation('not-held', 6, 'acme', false)
    await store.recordCreated(task('t1'), notHeld)
    expect(await store.today('acme', DAY, NOW)).toEqual({ secondsUsed: 6, inFlight: 1 })
    await store.reserve(reservation('r2'), {}, NOW)
    await store.recordCreated(task('t2'), reservation('r2'))
    expect(await store.today('acme', DAY, NOW)).toEqual({ secondsUsed: 12, inFlight: 2 })
    await store.release(notHeld)
    expect((await store.today('acme', DAY, NOW)).secondsUsed).toBe(12)
  })

  it('does not count a held reservation’s seconds again when it aged out before the task was recorded', async () => {
    const limits = { maxConcurrentTasks: 5 }
    await store.reserve(reservation('slow'), limits, NOW)
    await store.reserve(reservation('later'), limits, NOW + 2 * HOUR)
    await store.recordCreated(task('t1'), reservation('slow'))
    expect((await store.today('acme', DAY, NOW + 2 * HOUR)).secondsUsed).toBe(12)
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

  async function recorded(taskId: string, recordedAt = NOW, tenantId = 'acme') {
    await store.reserve(reservation(`r-${taskId}`, 6, tenantId), {}, recordedAt)
    await store.recordCreated(task(taskId, recordedAt, tenantId), reservation(`r-${taskId}`, 6, tenantId))
  }
  const done = (checkedAt: number, status = 'completed') => ({
    status,
    answer: `{"code":"20000","data":{"status":"${status}"}}`,
    checkedAt,
  })

  describe('webhook deliveries', () => {
    const LEASE = 60_000

    it('enqueues one delivery, in the same step, when a task of a notified tenant first becomes final', async () => {
      await recorded('t1')
      expect(
        await store.recordStatus('t1', { status: 'processing', answer: '{}', checkedAt: NOW }, true),
      ).toBe(false)
      expect(await store.claimDueDeliveries(NOW + HOUR, 10, LEASE)).toEqual([])
      expect(await store.recordStatus('t1', done(NOW + 5), true)).toBe(true)
      expect(await store.recordStatus('t1', done(NOW + 6), true)).toBe(false)
      const expected: Delivery = {
        id: 'msg_t1',
        tenantId: 'acme',
        taskId: 't1',
        payload: done(NOW + 5).answer,
        attempts: 0,
        nextAttemptAt: NOW + 5,
        firstAttemptAt: NOW + 5,
      }
      expect(await store.claimDueDeliveries(NOW + 4, 10, LEASE)).toEqual([])
      expect(await store.claimDueDeliveries(NOW + 5, 10, LEASE)).toEqual([expected])
    })

    it('enqueues nothing without notify, and answers false for an unknown task', async () => {
      await recorded('t1')
      expect(await store.recordStatus('t1', done(NOW, 'failed'))).toBe(true)
      expect(await store.recordStatus('missing', done(NOW), true)).toBe(false)
      expect(await store.claimDueDeliveries(NOW + HOUR, 10, LEASE)).toEqual([])
    })

    it('leases a claimed delivery so that concurrent claims get it once, until the lease ends', async () => {
      await recorded('t1')
      await store.recordStatus('t1', done(NOW), true)
      const claims = await Promise.all(
        Array.from({ length: 5 }, () => store.claimDueDeliveries(NOW, 10, LEASE)),
      )
      expect(claims.flat().map((d) => d.id)).toEqual(['msg_t1'])
      expect(await store.claimDueDeliveries(NOW + LEASE - 1, 10, LEASE)).toEqual([])
      expect(await store.claimDueDeliveries(NOW + LEASE, 10, LEASE)).toMatchObject([
        { id: 'msg_t1', attempts: 0 },
      ])
    })

    it('claims the earliest due first, at most `limit`', async () => {
      for (const [i, id] of ['a', 'b', 'c'].entries()) {
        await recorded(id)
        await store.recordStatus(id, done(NOW + 10 - i), true)
      }
      expect((await store.claimDueDeliveries(NOW + 10, 2, LEASE)).map((d) => d.taskId)).toEqual(['c', 'b'])
      expect((await store.claimDueDeliveries(NOW + 10, 2, LEASE)).map((d) => d.taskId)).toEqual(['a'])
    })

    it('reschedules with the attempts counted, and forgets a completed or dropped delivery for good', async () => {
      for (const id of ['t1', 't2']) {
        await recorded(id)
        await store.recordStatus(id, done(NOW), true)
      }
      await store.claimDueDeliveries(NOW, 10, LEASE)
      await store.rescheduleDelivery('msg_t1', 1, NOW + 5000)
      await store.rescheduleDelivery('msg_t2', 1, NOW + 5000)
      expect(await store.claimDueDeliveries(NOW + 4999, 10, LEASE)).toEqual([])
      const again = await store.claimDueDeliveries(NOW + 5000, 10, LEASE)
      expect(again.map((d) => [d.id, d.attempts, d.nextAttemptAt, d.firstAttemptAt])).toEqual([
        ['msg_t1', 1, NOW + 5000, NOW],
        ['msg_t2', 1, NOW + 5000, NOW],
      ])
      await store.completeDelivery('msg_t1')
      await store.dropDelivery('msg_t2')
      await store.rescheduleDelivery('msg_t1', 2, NOW)
      expect(await store.claimDueDeliveries(NOW + 2 * HOUR, 10, LEASE)).toEqual([])
    })
  })

  describe('unfinished tasks for the refresher', () => {
    const ids = (tasks: { taskId: string }[]) => tasks.map((t) => t.taskId)

    it('lists tasks not final and not checked lately: never checked first, then oldest check', async () => {
      await recorded('old-never', NOW - 3000)
      await recorded('new-never', NOW - 1000)
      await recorded('checked-long-ago', NOW - 5000)
      await recorded('checked-just-now', NOW - 5000)
      await recorded('finished', NOW - 5000)
      await store.recordStatus('checked-long-ago', {
        status: 'processing',
        answer: '{}',
        checkedAt: NOW - 900,
      })
      await store.recordStatus('checked-just-now', {
        status: 'processing',
        answer: '{}',
        checkedAt: NOW - 10,
      })
      await store.recordStatus('finished', done(NOW - 2000))
      expect(ids(await store.listUnfinished(NOW, HOUR, NOW - 500, 10))).toEqual([
        'old-never',
        'new-never',
        'checked-long-ago',
      ])
      expect(ids(await store.listUnfinished(NOW, HOUR, NOW - 500, 2))).toEqual(['old-never', 'new-never'])
      const [first] = await store.listUnfinished(NOW, HOUR, NOW - 500, 1)
      expect(first).toMatchObject({
        taskId: 'old-never',
        tenantId: 'acme',
        status: 'queued',
        lastCheckedAt: null,
      })
    })

    it('leaves out tasks older than the maximum age, and takes a task back when a check says it is not final', async () => {
      await recorded('ancient', NOW - HOUR)
      await recorded('recent', NOW - HOUR + 1)
      expect(ids(await store.listUnfinished(NOW, HOUR, NOW, 10))).toEqual(['recent'])
      expect(ids(await store.listUnfinished(NOW, HOUR, NOW, 10))).toEqual(['recent'])
      await store.recordStatus('recent', done(NOW))
      expect(await store.listUnfinished(NOW, HOUR, NOW + 1, 10)).toEqual([])
      await store.recordStatus('recent', { status: 'processing', answer: '{}', checkedAt: NOW })
      expect(ids(await store.listUnfinished(NOW, HOUR, NOW + 1, 10))).toEqual(['recent'])
    })
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

describe('the in-memory copy of tasks', () => {
  it('answers a known task without the store, for its owner only, with the latest status it wrote', async () => {
    const { withTaskCache } = await import('../src/store/task-cache.js')
    const inner = await openStore('sqlite')
    const store = withTaskCache(inner)
    await store.reserve(reservation('r1'), {}, NOW)
    await store.recordCreated(task('t1'), reservation('r1'))
    expect((await store.findOwned('acme', 't1'))?.status).toBe('queued')
    await store.recordStatus('t1', { status: 'completed', answer: '{"code":"20000"}', checkedAt: NOW })
    await inner.close()
    const cached = await store.findOwned('acme', 't1')
    expect(cached).toMatchObject({ status: 'completed', lastAnswer: '{"code":"20000"}', lastCheckedAt: NOW })
    expect(await store.findOwned('other', 't1')).toBeUndefined()
    expect(store.findOwnedInMemory?.('acme', 't1')).toMatchObject({ taskId: 't1', status: 'completed' })
    expect(store.findOwnedInMemory?.('other', 't1')).toBeUndefined()
    expect(store.findOwnedInMemory?.('acme', 'unknown')).toBeUndefined()
    await expect(
      store.recordStatus('t1', { status: 'completed', answer: '{}', checkedAt: NOW + 1 }),
    ).rejects.toThrow()
    await expect(store.findOwned('acme', 'unknown')).rejects.toThrow()
  })

  it('keeps at most its bound of tasks, dropping the least recently used first', async () => {
    const { withTaskCache } = await import('../src/store/task-cache.js')
    const inner = await openStore('sqlite')
    const store = withTaskCache(inner, 2)
    for (const id of ['t1', 't2', 't3']) {
      await store.reserve(reservation(`r-${id}`), {}, NOW)
      await store.recordCreated(task(id), reservation(`r-${id}`))
    }
    await inner.close()
    expect((await store.findOwned('acme', 't3'))?.taskId).toBe('t3')
    expect((await store.findOwned('acme', 't2'))?.taskId).toBe('t2')
    await expect(store.findOwned('acme', 't1')).rejects.toThrow()
  })
})
