import { once } from 'node:events'
import { type AddressInfo, connect } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { closeDeps } from '../src/deps.js'
import {
  bearer,
  createTask,
  makeTenant,
  startTestGateway,
  type TestGateway,
  validCreate,
} from './helpers/gateway.js'
import { eventually } from './helpers/process.js'

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

describe('a request that arrives on an open connection while the gateway shuts down', () => {
  it('gets a 503 envelope with its request id, Retry-After and Connection: close', async () => {
    const own = await startTestGateway({ tenants: [team] })
    await own.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = own.app.server.address() as AddressInfo
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk
    })
    const socketClosed = once(socket, 'close')
    try {
      await once(socket, 'connect')
      // Half a request: the connection is busy, so the shutdown waits for it instead of dropping it.
      socket.write('GET /v1/videos HTTP/1.1\r\nHost: gateway\r\nX-Request-Id: late-caller-1\r\n')
      await new Promise((resolve) => setTimeout(resolve, 50))
      const closed = own.app.close()
      await eventually(() => !own.app.server.listening, 'the gateway to stop listening')
      socket.write(`Authorization: Bearer ${team.key}\r\n\r\n`)
      await socketClosed
      await closed

      const [head = '', body = ''] = answer.split('\r\n\r\n')
      const [statusLine, ...headerLines] = head.split('\r\n')
      const headers = Object.fromEntries(
        headerLines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      )
      expect(statusLine).toBe('HTTP/1.1 503 Service Unavailable')
      expect(headers['x-request-id']).toBe('late-caller-1')
      expect(headers['retry-after']).toBe('1')
      expect(headers.connection).toBe('close')
      expect(JSON.parse(body)).toMatchObject({ code: '50304', data: null, request_id: 'late-caller-1' })
    } finally {
      socket.destroy()
      await closeDeps(own.deps)
      await own.upstream.close()
    }
  })
})
