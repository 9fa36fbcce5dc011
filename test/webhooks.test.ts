import { setTimeout as sleep } from 'node:timers/promises'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { type Simulator, startSimulator } from '../src/simulator/app.js'
import { utcDay } from '../src/store/days.js'
import {
  bearer,
  makeTenant,
  manualClock,
  startTestGateway,
  type TestGateway,
  type TestGatewayOptions,
  type TestTenant,
  UPSTREAM_TEST_TOKEN,
  validCreate,
} from './helpers/gateway.js'
import { STORE_KINDS, storeEnv } from './helpers/stores.js'
import { newSecret, type Received, startReceiver, until } from './helpers/webhook-receiver.js'

const TASK_MS = 60_000
const DAY = 86_400_000

const logged = (gw: TestGateway, msg: string) => gw.logs.some((line) => JSON.parse(line).msg === msg)
const upstreamQueries = (sim: Simulator) => sim.calls.filter((c) => c.operation === 'query')

describe.each(STORE_KINDS)('webhooks on the %s store', (kind) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function receiver(plan?: (number | 'hang')[], now?: () => number) {
    const r = await startReceiver(plan, now)
    cleanups.push(() => r.close())
    return r
  }

  /** A gateway with short webhook polls; closing it twice is fine (a restart test closes it itself). */
  async function gateway(options: TestGatewayOptions & { storeEnv?: Record<string, string> }) {
    const gw = await startTestGateway({
      simulator: { taskDurationMs: TASK_MS },
      ...options,
      env: { ...(options.storeEnv ?? storeEnv(kind)), WEBHOOK_POLL_MS: '20', ...options.env },
    })
    let closed = false
    const close = async () => {
      if (!closed) await gw.close()
      closed = true
    }
    cleanups.push(close)
    return { ...gw, close }
  }

  async function simulator(clock: { now(): number }) {
    const sim = await startSimulator({ token: UPSTREAM_TEST_TOKEN, now: clock.now, taskDurationMs: TASK_MS })
    cleanups.push(() => sim.close())
    return sim
  }

  const hooked = (url: string, secrets: string[]) =>
    makeTenant('hooked', { webhook_url: url, webhook_secrets: secrets })

  async function create(gw: TestGateway, tenant: TestTenant, prompt = validCreate.prompt) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: bearer(tenant.key),
      payload: { ...validCreate, prompt },
    })
    expect(res.statusCode).toBe(200)
    return res.json().data.task_id as string
  }

  const query = (gw: TestGateway, tenant: TestTenant, taskId: string) =>
    gw.app.inject({ method: 'GET', url: `/v1/videos/${taskId}`, headers: bearer(tenant.key) })

  const counted = async (gw: TestGateway) =>
    Object.fromEntries(
      (await gw.deps.metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]),
    )

  it('POSTs a finished task’s last answer unchanged, signed so that standardwebhooks verifies it', async () => {
    const r = await receiver()
    const secret = newSecret()
    const tenant = hooked(`${r.url}/hooks?source=omni`, [secret])
    const clock = manualClock()
    const gw = await gateway({ tenants: [tenant], clock })
    const done = await create(gw, tenant)
    const failed = await create(gw, tenant, 'a storm at sea [fail]')
    clock.advance(TASK_MS)
    const answers: Record<string, string> = {}
    for (const id of [done, failed]) answers[id] = (await query(gw, tenant, id)).body
    await until('two webhooks', () => r.received.length >= 2)

    const statuses = []
    for (const hook of r.received) {
      const taskId = JSON.parse(hook.body).data.task_id as string
      statuses.push(JSON.parse(hook.body).data.status)
      expect(hook.body).toBe(answers[taskId])
      expect(hook.url).toBe('/hooks?source=omni')
      expect(hook.headers).toMatchObject({
        'webhook-id': `msg_${taskId}`,
        'content-type': 'application/json',
      })
      expect(hook.headers['user-agent']).toMatch(/omni-gateway/)
      expect(Math.abs(Number(hook.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30)
      expect(new Webhook(secret).verify(hook.body, hook.headers)).toEqual(JSON.parse(hook.body))
      expect(() => new Webhook(newSecret()).verify(hook.body, hook.headers)).toThrow(WebhookVerificationError)
      expect(() => new Webhook(secret).verify(`${hook.body} `, hook.headers)).toThrow(
        WebhookVerificationError,
      )
    }
    expect(statuses.sort()).toEqual(['completed', 'failed'])
    await until(
      'both recorded as delivered',
      () => gw.logs.filter((l) => l.includes('"webhook delivered"')).length === 2,
    )
    expect(await counted(gw)).toEqual({ delivered: 2 })
    expect(await gw.deps.store.claimDueDeliveries(clock.now() + DAY, 10, 1000)).toEqual([])
  })

  it('signs with every secret while one is rotated, so a receiver knowing either one verifies', async () => {
    const r = await receiver()
    const [oldSecret, newOne] = [newSecret(), newSecret(64)]
    const tenant = hooked(r.url, [oldSecret, newOne])
    const clock = manualClock()
    const gw = await gateway({ tenants: [tenant], clock })
    const taskId = await create(gw, tenant)
    clock.advance(TASK_MS)
    await query(gw, tenant, taskId)
    await until('the webhook', () => r.received.length === 1)
    const [hook] = r.received as [Received]
    expect(hook.headers['webhook-signature']?.split(' ')).toHaveLength(2)
    expect(new Webhook(newOne).verify(hook.body, hook.headers)).toMatchObject({ data: { task_id: taskId } })
    expect(new Webhook(oldSecret).verify(hook.body, hook.headers)).toMatchObject({
      data: { task_id: taskId },
    })
  })

  it('retries a failing receiver with backoff, under the same webhook-id, until it answers 2xx', async () => {
    const clock = manualClock()
    const r = await receiver([500, 503], clock.now)
    const secret = newSecret()
    const tenant = hooked(r.url, [secret])
    const gw = await gateway({ tenants: [tenant], clock })
    const taskId = await create(gw, tenant)
    clock.advance(TASK_MS)
    await query(gw, tenant, taskId)
    const tick = () => clock.advance(1000)
    await until('three attempts', () => r.received.length === 3, tick)
    expect(r.received.map((h) => h.headers['webhook-id'])).toEqual(Array(3).fill(`msg_${taskId}`))
    for (const hook of r.received)
      expect(() => new Webhook(secret).verify(hook.body, hook.headers)).not.toThrow()
    const [first, second, third] = r.received.map((h) => h.at) as [number, number, number]
    expect(second - first).toBeGreaterThanOrEqual(5000)
    expect(third - second).toBeGreaterThanOrEqual(30_000)
    await until('the success recorded', () => logged(gw, 'webhook delivered'))
    for (let i = 0; i < 10; i++) {
      clock.advance(3_600_000)
      await sleep(30)
    }
    expect(r.received).toHaveLength(3)
    expect(await counted(gw)).toEqual({ retry: 2, delivered: 1 })
  })

  it('drops a delivery with an error log once WEBHOOK_MAX_AGE_MS has passed since its first attempt', async () => {
    const clock = manualClock()
    const r = await receiver(Array(100).fill(500), clock.now)
    const tenant = hooked(r.url, [newSecret()])
    const gw = await gateway({ tenants: [tenant], clock, env: { WEBHOOK_MAX_AGE_MS: '60000' } })
    const taskId = await create(gw, tenant)
    clock.advance(TASK_MS)
    await query(gw, tenant, taskId)
    const tick = () => clock.advance(1000)
    await until(
      'the drop',
      () => logged(gw, 'webhook dropped: no 2xx from the receiver within WEBHOOK_MAX_AGE_MS'),
      tick,
    )
    // 0 s, ~5 s, ~35 s; the next (~2 min later) would pass the 60 s.
    expect(r.received).toHaveLength(3)
    expect(await counted(gw)).toEqual({ retry: 2, dropped: 1 })
    expect(await gw.deps.store.claimDueDeliveries(clock.now() + DAY, 10, 1000)).toEqual([])
  })

  it('delivers after a restart a webhook that was failing when the gateway stopped', async () => {
    const clock = manualClock()
    const sim = await simulator(clock)
    const r = await receiver([500], clock.now)
    const secret = newSecret()
    const tenant = hooked(r.url, [secret])
    const stored = storeEnv(kind)
    const first = await gateway({ tenants: [tenant], clock, upstream: sim, storeEnv: stored })
    const taskId = await create(first, tenant)
    clock.advance(TASK_MS)
    await query(first, tenant, taskId)
    await until('a failed attempt, rescheduled', () => logged(first, 'webhook failed; will retry'))
    await first.close()

    const queriesBefore = upstreamQueries(sim).length
    const second = await gateway({
      tenants: [tenant],
      clock,
      upstream: sim,
      storeEnv: stored,
      dataDir: first.dataDir,
    })
    await until(
      'the retry from the new process',
      () => r.received.length === 2,
      () => clock.advance(1000),
    )
    expect(r.received.map((h) => h.headers['webhook-id'])).toEqual([`msg_${taskId}`, `msg_${taskId}`])
    expect(new Webhook(secret).verify(r.received[1]?.body ?? '', r.received[1]?.headers ?? {})).toBeTruthy()
    expect(upstreamQueries(sim)).toHaveLength(queriesBefore)
    await until('recorded as delivered', () => logged(second, 'webhook delivered'))
  })

  it('hands an attempt in flight back on close, so the next process sends it at once', async () => {
    const clock = manualClock()
    const sim = await simulator(clock)
    const r = await receiver(['hang'], clock.now)
    const tenant = hooked(r.url, [newSecret()])
    const stored = storeEnv(kind)
    const first = await gateway({ tenants: [tenant], clock, upstream: sim, storeEnv: stored })
    const taskId = await create(first, tenant)
    clock.advance(TASK_MS)
    await query(first, tenant, taskId)
    await until('the attempt to hang', () => r.received.length === 1)
    const closing = performance.now()
    await first.close()
    // WEBHOOK_TIMEOUT_MS is 10 s: close abandoned the attempt rather than waiting for it.
    expect(performance.now() - closing).toBeLessThan(5000)

    await gateway({ tenants: [tenant], clock, upstream: sim, storeEnv: stored, dataDir: first.dataDir })
    await until('the attempt from the new process', () => r.received.length === 2)
    expect(r.received[1]?.headers['webhook-id']).toBe(`msg_${taskId}`)
  })

  it('enqueues nothing for a tenant without webhook_url', async () => {
    const r = await receiver()
    const plain = makeTenant('plain')
    const tenant = hooked(r.url, [newSecret()])
    const clock = manualClock()
    // Polls only at start and when woken: what a final status enqueues stays visible in the store.
    const gw = await gateway({ tenants: [plain, tenant], clock, env: { WEBHOOK_POLL_MS: '60000' } })
    const plainTask = await create(gw, plain)
    const hookedTask = await create(gw, tenant)
    clock.advance(TASK_MS)
    expect((await query(gw, plain, plainTask)).json().data.status).toBe('completed')
    expect(await gw.deps.store.claimDueDeliveries(clock.now() + DAY, 10, 1000)).toEqual([])
    await query(gw, tenant, hookedTask)
    await until('the hooked tenant’s webhook', () => r.received.length === 1)
    expect(r.received[0]?.headers['webhook-id']).toBe(`msg_${hookedTask}`)
  })

  it('finds a task’s end without any caller query, and its webhook follows', async () => {
    const r = await receiver()
    const secret = newSecret()
    const tenant = hooked(r.url, [secret])
    const gw = await gateway({
      tenants: [tenant],
      simulator: { taskDurationMs: 300 },
      env: { REFRESH_INTERVAL_MS: '50', QUERY_FRESHNESS_MS: '0' },
    })
    const taskId = await create(gw, tenant)
    await until('the webhook', () => r.received.length === 1)
    const [hook] = r.received as [Received]
    expect(new Webhook(secret).verify(hook.body, hook.headers)).toMatchObject({
      data: { task_id: taskId, status: 'completed' },
    })
    const queries = upstreamQueries(gw.upstream)
    expect(queries.length).toBeGreaterThan(0)
    for (const call of queries) expect(call.headers['x-request-id']).toMatch(/^refresh-/)
    const now = Date.now()
    expect((await gw.deps.store.today('hooked', utcDay(now), now)).inFlight).toBe(0)
  })

  it('stops refreshing a task once it is older than TASK_MAX_AGE_MS', async () => {
    const clock = manualClock()
    const tenant = makeTenant('plain')
    const gw = await gateway({
      tenants: [tenant],
      clock,
      simulator: { taskDurationMs: 3_600_000 },
      env: { REFRESH_INTERVAL_MS: '50', QUERY_FRESHNESS_MS: '0', TASK_MAX_AGE_MS: '1000' },
    })
    await create(gw, tenant)
    const queries = () => upstreamQueries(gw.upstream).length
    await until('a first refresh', () => queries() === 1)
    clock.advance(100)
    await until('a refresh once the last check is older than the interval', () => queries() === 2)
    clock.advance(1000)
    await sleep(400)
    expect(queries()).toBe(2)
  })
})
