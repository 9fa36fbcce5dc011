import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  bearer,
  createTask,
  makeTenant,
  startTestGateway,
  type TestGateway,
  validCreate,
} from './helpers/gateway.js'

const team = makeTenant('team')

describe('operations routes', () => {
  let gw: TestGateway
  beforeEach(async () => {
    gw = await startTestGateway({ tenants: [team] })
  })
  afterEach(async () => {
    await gw.close()
  })

  it('says the process is up at /healthz', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ code: '20000', data: { status: 'up' } })
  })

  it('says ready while the store answers and 503 once it does not', async () => {
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    await gw.deps.store.close()
    const res = await gw.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ code: '50303', data: null, details: [{ field: 'store' }] })
  })

  it('serves Prometheus metrics with request durations by route and status', async () => {
    await createTask(gw, team.key)
    const res = await gw.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.headers['content-type']).toContain('text/plain')
    expect(res.body).toMatch(
      /gateway_http_request_duration_seconds_count\{method="POST",route="\/v1\/gemini\/omni\/videos",status="200"\} 1/,
    )
    expect(res.body).toContain('process_cpu_user_seconds_total')
    expect(res.body).toMatch(/gateway_upstream_duration_seconds_count\{operation="create",outcome="200"\} 1/)
  })

  it('serves the OpenAPI document and the interactive docs', async () => {
    const doc = await gw.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(doc.json().openapi).toBe('3.0.3')
    const ui = await gw.app.inject({ method: 'GET', url: '/docs/' })
    expect(ui.statusCode).toBe(200)
    expect(ui.body).toContain('swagger')
  })

  it('logs one line per request with request id, tenant and key id but never the key', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(team.key), 'x-request-id': 'trace-42' },
      payload: validCreate,
    })
    expect(res.statusCode).toBe(200)
    const lines = gw.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'request' && l.reqId === 'trace-42')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      tenant: 'team',
      keyId: 'team-key',
      route: '/v1/gemini/omni/videos',
      status: 200,
      upstreamMs: expect.any(Number),
    })
    expect(gw.logs.join('\n')).not.toContain(team.key)
  })

  it('binds the request id to lines a route writes through its request logger', async () => {
    await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(team.key), 'x-request-id': 'trace-43' },
      payload: validCreate,
    })
    const created = gw.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'task created')
    expect(created).toHaveLength(1)
    expect(created[0]).toMatchObject({ reqId: 'trace-43', model: expect.any(String) })
  })

  it.each(['/healthz', '/readyz', '/metrics', '/openapi.json'])(
    'serves %s under /api/open-api too',
    async (path) => {
      const res = await gw.app.inject({ method: 'GET', url: `/api/open-api${path}` })
      expect(res.statusCode).toBe(200)
    },
  )

  it('keeps /metrics off the main port when METRICS_PORT is set', async () => {
    const separate = await startTestGateway({
      tenants: [team],
      env: { METRICS_PORT: '9464' },
      upstream: gw.upstream,
    })
    try {
      expect((await separate.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404)
    } finally {
      await separate.close()
    }
  })
})
