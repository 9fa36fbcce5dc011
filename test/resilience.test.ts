import { getActiveResourcesInfo } from 'node:process'
import { setTimeout } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { GatewayError } from '../src/errors.js'
import { shouldRetry } from '../src/upstream/retry.js'
import { bearer, createTask, makeTenant, startTestGateway, type TestGateway } from './helpers/gateway.js'

const team = makeTenant('team')
const connectionFailed = (code: string) =>
  new GatewayError(
    502,
    '50203',
    'the connection to the upstream failed',
    [],
    {},
    { cause: Object.assign(new Error(code), { code }) },
  )
const answer = (status: number) => ({ status, text: '', json: {}, retryAfter: undefined, latencyMs: 1 })

describe('which upstream failures are retried', () => {
  it.each(['ECONNRESET', 'UND_ERR_SOCKET', 'ECONNREFUSED'])('retries a query after %s', (code) => {
    expect(shouldRetry('query', { err: connectionFailed(code) })).toBe(true)
  })

  it.each([502, 503, 504])('retries a query answered %i', (status) => {
    expect(shouldRetry('query', { answer: answer(status) })).toBe(true)
  })

  it.each([200, 400, 404, 429, 500])('does not retry a query answered %i', (status) => {
    expect(shouldRetry('query', { answer: answer(status) })).toBe(false)
  })

  it('never retries a create that may have reached the upstream', () => {
    expect(shouldRetry('create', { err: connectionFailed('ECONNRESET') })).toBe(false)
    expect(shouldRetry('create', { err: connectionFailed('UND_ERR_SOCKET') })).toBe(false)
    expect(shouldRetry('create', { answer: answer(503) })).toBe(false)
    expect(shouldRetry('create', { err: new GatewayError(504, '50401', 'timeout') })).toBe(false)
  })

  it('retries a create whose connection was refused, since nothing was sent', () => {
    expect(shouldRetry('create', { err: connectionFailed('ECONNREFUSED') })).toBe(true)
  })

  it('does not retry past a spent deadline or an open circuit', () => {
    expect(shouldRetry('query', { err: new GatewayError(504, '50401', 'timeout') })).toBe(false)
    expect(shouldRetry('query', { err: new GatewayError(503, '50302', 'open') })).toBe(false)
  })
})

describe('the resilient upstream path', () => {
  let gw: TestGateway
  afterEach(async () => {
    await gw.close()
  })

  const start = (env: Record<string, string> = {}) =>
    startTestGateway({
      tenants: [team],
      env: { QUERY_FRESHNESS_MS: '0', UPSTREAM_TIMEOUT_MS: '500', ...env },
    }).then((g) => {
      gw = g
      return g
    })
  const create = () => createTask(gw, team.key)
  const query = (id: string) =>
    gw.app.inject({ method: 'GET', url: `/v1/videos/${id}`, headers: bearer(team.key) })
  const calls = (operation: 'create' | 'query') =>
    gw.upstream.calls.filter((c) => c.operation === operation).length

  it('answers a query after a reset and a 503 by retrying', async () => {
    // A budget large enough that a busy machine cannot spend it before the retries.
    await start({ UPSTREAM_TIMEOUT_MS: '10000' })
    const id = (await create()).json().data.task_id
    gw.upstream.failNext('query', { kind: 'reset' })
    gw.upstream.failNext('query', { kind: 'status', status: 503 })
    const res = await query(id)
    expect(res.statusCode).toBe(200)
    expect(calls('query')).toBe(3)
    const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/gateway_upstream_retries_total\{operation="query"\} 2/)
  })

  it('gives up after UPSTREAM_QUERY_RETRIES retries', async () => {
    await start({ UPSTREAM_QUERY_RETRIES: '1', UPSTREAM_TIMEOUT_MS: '10000' })
    const id = (await create()).json().data.task_id
    gw.upstream.failNext('query', { kind: 'status', status: 502 }, 5)
    expect((await query(id)).statusCode).toBe(502)
    expect(calls('query')).toBe(2)
  })

  it('opens the circuit after repeated failures, fails fast, then probes and closes again', async () => {
    await start({ UPSTREAM_CIRCUIT_RESET_MS: '300' })
    gw.upstream.failNext('create', { kind: 'status', status: 500 }, 5)
    for (let i = 0; i < 5; i++) expect((await create()).statusCode).toBe(502)

    const fast = await create()
    expect(fast.statusCode).toBe(503)
    expect(fast.json().code).toBe('50302')
    expect(Number(fast.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(calls('create')).toBe(5)
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.json().data.upstream_circuit).toBe('open')
    expect((await gw.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /gateway_upstream_circuit_state 2/,
    )

    const circuit = async () =>
      (await gw.app.inject({ method: 'GET', url: '/readyz' })).json().data.upstream_circuit
    for (let i = 0; i < 100 && (await circuit()) !== 'half-open'; i++) await setTimeout(20)
    expect(await circuit()).toBe('half-open')
    gw.upstream.failNext('create', { kind: 'status', status: 500 })
    expect((await create()).statusCode).toBe(502)
    expect(await circuit()).toBe('open')

    for (let i = 0; i < 100 && (await circuit()) !== 'half-open'; i++) await setTimeout(20)
    expect((await create()).statusCode).toBe(200)
    expect(await circuit()).toBe('closed')
    expect((await create()).statusCode).toBe(200)
  })

  it('counts rejections by tenant and reason, tasks by model, and answers by source', async () => {
    await start({ QUERY_FRESHNESS_MS: '60000' })
    await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: bearer('og_wrong-key-0123456789'),
    })
    await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: bearer(team.key),
      payload: { model: 'x' },
    })
    const id = (await create()).json().data.task_id
    await query(id)
    await query(id)
    const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/gateway_rejections_total\{tenant="unknown",reason="auth"\} 1/)
    expect(metrics).toMatch(/gateway_rejections_total\{tenant="team",reason="validation"\} 1/)
    expect(metrics).toMatch(
      /gateway_tasks_created_total\{(tenant="team",model="Gemini-Omini"|model="Gemini-Omini",tenant="team")\} 1/,
    )
    expect(metrics).toMatch(/gateway_query_answers_total\{source="upstream"\} 1/)
    expect(metrics).toMatch(/gateway_query_answers_total\{source="store"\} 1/)
  })

  it('returns to its open sockets and memory after a burst of hanging, resetting and garbage answers', async () => {
    await start({ UPSTREAM_TIMEOUT_MS: '200', UPSTREAM_CIRCUIT_RESET_MS: '100000' })
    const id = (await create()).json().data.task_id
    const sockets = () => getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length
    const baseline = sockets()
    const heapBefore = process.memoryUsage().heapUsed
    for (let round = 0; round < 3; round++) {
      gw.upstream.failNext('query', { kind: 'hang' }, 10)
      gw.upstream.failNext('query', { kind: 'reset' }, 10)
      gw.upstream.failNext('query', { kind: 'garbage' }, 10)
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          gw.app.inject({ method: 'GET', url: `/v1/videos/${id}?n=${i}`, headers: bearer(team.key) }),
        ),
      )
    }
    for (let i = 0; i < 100 && sockets() > baseline + 2; i++) await setTimeout(20)
    expect(sockets()).toBeLessThanOrEqual(baseline + 2)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * 1024 * 1024)
  })
})
