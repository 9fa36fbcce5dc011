import { afterEach, describe, expect, it } from 'vitest'
import {
  bearer,
  makeTenant,
  manualClock,
  startTestGateway,
  type TestGateway,
  validCreate,
} from './helpers/gateway.js'
import { STORE_KINDS, storeEnv } from './helpers/stores.js'

describe.each(STORE_KINDS)('tenant limits on the %s store', (kind) => {
  let gw: TestGateway
  afterEach(async () => {
    await gw?.close()
  })

  const start = async (
    limits: Record<string, number>,
    extra: Parameters<typeof startTestGateway>[0] = { tenants: [] },
  ) => {
    const tenant = makeTenant('acme', { limits })
    const other = makeTenant('other')
    gw = await startTestGateway({
      ...extra,
      tenants: [tenant, other],
      env: { ...storeEnv(kind), ...extra.env },
    })
    return { tenant, other }
  }
  const create = (key: string, payload: object = validCreate, headers: Record<string, string> = {}) =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(key), ...headers },
      payload,
    })
  const upstreamCreates = () => gw.upstream.calls.filter((c) => c.operation === 'create').length

  it('refuses the create after create_per_minute with 429, Retry-After and rate headers', async () => {
    const { tenant } = await start({ create_per_minute: 3 })
    for (let i = 0; i < 3; i++) {
      const ok = await create(tenant.key)
      expect(ok.statusCode).toBe(200)
      expect(ok.headers['x-ratelimit-limit']).toBe('3')
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i))
      expect(Number(ok.headers['x-ratelimit-reset'])).toBeGreaterThan(0)
    }
    const refused = await create(tenant.key)
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toMatchObject({ code: '42901', data: null })
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    expect(refused.headers['x-ratelimit-remaining']).toBe('0')
    expect(upstreamCreates()).toBe(3)
  })

  it('counts both paths and invalid bodies against one per-minute budget', async () => {
    const { tenant } = await start({ create_per_minute: 2 })
    expect((await create(tenant.key, { model: 'nope' })).statusCode).toBe(400)
    const prefixed = await gw.app.inject({
      method: 'POST',
      url: '/api/open-api/v1/gemini/omni/videos',
      headers: bearer(tenant.key),
      payload: validCreate,
    })
    expect(prefixed.statusCode).toBe(200)
    expect((await create(tenant.key)).statusCode).toBe(429)
  })

  it('refuses queries and listings after query_per_minute, separately from creates', async () => {
    const { tenant, other } = await start({ query_per_minute: 2, create_per_minute: 5 })
    const id = (await create(tenant.key)).json().data.task_id
    expect(
      (await gw.app.inject({ method: 'GET', url: `/v1/videos/${id}`, headers: bearer(tenant.key) }))
        .statusCode,
    ).toBe(200)
    expect(
      (await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(tenant.key) })).statusCode,
    ).toBe(200)
    const refused = await gw.app.inject({
      method: 'GET',
      url: `/v1/videos/${id}`,
      headers: bearer(tenant.key),
    })
    expect(refused.statusCode).toBe(429)
    expect((await create(tenant.key)).statusCode).toBe(200)
    expect(
      (await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(other.key) })).statusCode,
    ).toBe(200)
  })

  it('refuses a create beyond max_concurrent_tasks and admits one once a task ends', async () => {
    const clock = manualClock()
    const { tenant } = await start(
      { max_concurrent_tasks: 2 },
      { tenants: [], clock, simulator: { taskDurationMs: 60_000 }, env: { QUERY_FRESHNESS_MS: '0' } },
    )
    const first = (await create(tenant.key)).json().data.task_id
    expect((await create(tenant.key)).statusCode).toBe(200)
    const refused = await create(tenant.key)
    expect(refused.statusCode).toBe(429)
    expect(refused.json().code).toBe('42902')
    expect(upstreamCreates()).toBe(2)
    clock.advance(60_000)
    await gw.app.inject({ method: 'GET', url: `/v1/videos/${first}`, headers: bearer(tenant.key) })
    expect((await create(tenant.key)).statusCode).toBe(200)
  })

  it('stops counting a task that never ends after TASK_MAX_AGE_MS', async () => {
    const clock = manualClock()
    const { tenant } = await start(
      { max_concurrent_tasks: 1 },
      { tenants: [], clock, env: { TASK_MAX_AGE_MS: '60000' } },
    )
    expect((await create(tenant.key)).statusCode).toBe(200)
    expect((await create(tenant.key)).statusCode).toBe(429)
    clock.advance(60_000)
    expect((await create(tenant.key)).statusCode).toBe(200)
  })

  it('lets the day reach daily_video_seconds exactly, then refuses until the next UTC midnight', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 27, 23, 0, 0))
    const { tenant } = await start({ daily_video_seconds: 16 }, { tenants: [], clock })
    expect((await create(tenant.key, { ...validCreate, duration: 10 })).statusCode).toBe(200)
    expect((await create(tenant.key, { ...validCreate, duration: 8 })).statusCode).toBe(429)
    expect((await create(tenant.key, { ...validCreate })).statusCode).toBe(200)
    const refused = await create(tenant.key, { ...validCreate, duration: 4 })
    expect(refused.statusCode).toBe(429)
    expect(refused.json().code).toBe('42903')
    expect(refused.headers['retry-after']).toBe('3600')
    clock.advance(3_600_000)
    expect((await create(tenant.key, { ...validCreate, duration: 4 })).statusCode).toBe(200)
  })

  it('counts billable seconds per model: omni-10s and a reference video as 10', async () => {
    const { tenant } = await start({ daily_video_seconds: 20 })
    expect((await create(tenant.key, { model: 'omni-10s', prompt: 'x', duration: 4 })).statusCode).toBe(200)
    const withVideo = { model: 'Gemini-Omini', prompt: 'x', video_urls: ['https://example.com/v.mp4'] }
    expect((await create(tenant.key, withVideo)).statusCode).toBe(200)
    expect((await create(tenant.key, { ...validCreate, duration: 4 })).statusCode).toBe(429)
  })

  it('counts nothing for a create the upstream refused', async () => {
    const { tenant } = await start({ daily_video_seconds: 6, max_concurrent_tasks: 1 })
    gw.upstream.failNext('create', { kind: 'status', status: 500 })
    expect((await create(tenant.key)).statusCode).toBe(502)
    gw.upstream.failNext('create', { kind: 'status', status: 402, body: '{"code":"40200","msg":"balance"}' })
    expect((await create(tenant.key)).statusCode).toBe(402)
    expect((await create(tenant.key)).statusCode).toBe(200)
  })

  it('lets exactly the allowed number through when 50 creates arrive at once', async () => {
    const { tenant } = await start({ max_concurrent_tasks: 5 })
    const answers = await Promise.all(Array.from({ length: 50 }, () => create(tenant.key)))
    const statuses = answers.map((a) => a.statusCode)
    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(45)
    expect(upstreamCreates()).toBe(5)
  })

  it('lets exactly the daily seconds through when 50 creates arrive at once', async () => {
    const { tenant } = await start({ daily_video_seconds: 30 })
    const answers = await Promise.all(Array.from({ length: 50 }, () => create(tenant.key)))
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(5)
    expect(upstreamCreates()).toBe(5)
  })

  describe('Idempotency-Key', () => {
    it('replays the first answer with one upstream call, and the replay counts against no limit', async () => {
      const { tenant } = await start({ max_concurrent_tasks: 1, daily_video_seconds: 6 })
      const first = await create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })
      const again = await create(
        tenant.key,
        { prompt: validCreate.prompt, model: validCreate.model },
        { 'idempotency-key': 'order-1' },
      )
      expect(again.statusCode).toBe(200)
      expect(again.body).toBe(first.body)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(upstreamCreates()).toBe(1)
    })

    it('answers 422 for the same key with a different body', async () => {
      const { tenant } = await start({})
      await create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })
      const res = await create(
        tenant.key,
        { ...validCreate, prompt: 'another' },
        { 'idempotency-key': 'order-1' },
      )
      expect(res.statusCode).toBe(422)
      expect(res.json().code).toBe('42201')
      expect(upstreamCreates()).toBe(1)
    })

    it('answers 409 while the first request with the key is in flight', async () => {
      const { tenant } = await start({})
      gw.upstream.failNext('create', { kind: 'delay', ms: 300 })
      const first = create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })
      await new Promise((resolve) => setImmediate(resolve))
      let second = await create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })
      while (second.statusCode !== 409 && upstreamCreates() === 0) {
        second = await create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })
      }
      expect(second.statusCode).toBe(409)
      expect((await first).statusCode).toBe(200)
      expect(upstreamCreates()).toBe(1)
    })

    it('lets the key be used again after a failed first answer', async () => {
      const { tenant } = await start({})
      gw.upstream.failNext('create', { kind: 'status', status: 503 })
      expect((await create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })).statusCode).toBe(502)
      expect((await create(tenant.key, validCreate, { 'idempotency-key': 'order-1' })).statusCode).toBe(200)
      expect(upstreamCreates()).toBe(2)
    })

    it('scopes keys to the tenant and refuses a key over 255 characters', async () => {
      const { tenant, other } = await start({})
      await create(tenant.key, validCreate, { 'idempotency-key': 'shared' })
      expect(
        (await create(other.key, { ...validCreate, prompt: 'b' }, { 'idempotency-key': 'shared' }))
          .statusCode,
      ).toBe(200)
      const long = await create(tenant.key, validCreate, { 'idempotency-key': 'k'.repeat(256) })
      expect(long.statusCode).toBe(400)
      expect(long.json().details[0].field).toBe('header:Idempotency-Key')
    })
  })

  describe('GET /v1/usage', () => {
    it("matches the creates made, counts failures, and leaves out other tenants' work", async () => {
      const clock = manualClock()
      const { tenant, other } = await start(
        { daily_video_seconds: 100 },
        { tenants: [], clock, env: { QUERY_FRESHNESS_MS: '0' } },
      )
      await create(tenant.key, { ...validCreate, duration: 8 })
      const failing = (await create(tenant.key, { ...validCreate, prompt: 'boom [fail]' })).json().data
        .task_id
      await create(tenant.key, { model: 'omni-10s', prompt: 'x' })
      await create(other.key, { ...validCreate, duration: 10 })
      clock.advance(20_000)
      await gw.app.inject({ method: 'GET', url: `/v1/videos/${failing}`, headers: bearer(tenant.key) })

      const res = await gw.app.inject({ method: 'GET', url: '/v1/usage?days=3', headers: bearer(tenant.key) })
      expect(res.statusCode).toBe(200)
      const { data } = res.json()
      expect(data.tenant).toBe('acme')
      expect(data.days).toEqual([
        { date: '2026-11-27', model: 'Gemini-Omini', tasks: 2, failed: 1, video_seconds: 14 },
        { date: '2026-11-27', model: 'omni-10s', tasks: 1, failed: 0, video_seconds: 10 },
      ])
      expect(data.limits).toEqual({ daily_video_seconds: 100 })
      expect(data.today).toEqual({ video_seconds_used: 24, video_seconds_left: 76, tasks_in_flight: 2 })
    })

    it('refuses days outside 1-90 naming the parameter', async () => {
      const { tenant } = await start({})
      const res = await gw.app.inject({
        method: 'GET',
        url: '/v1/usage?days=91',
        headers: bearer(tenant.key),
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().details[0].field).toBe('/days')
    })
  })
})
