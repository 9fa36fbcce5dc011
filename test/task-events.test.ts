import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bearer, createTask, makeTenant, startTestGateway, type TestGateway } from './helpers/gateway.js'
import { rememberSecret } from './helpers/secrets.js'

const team = makeTenant('team')
const stranger = makeTenant('stranger')
const TASK_MS = 600
const POLL_MS = 40

interface SseEvent {
  event: string
  data: { status?: string; progress?: number; code?: string }
}

const parseEvents = (body: string): SseEvent[] =>
  body
    .split('\n\n')
    .map((block) =>
      Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      ),
    )
    .filter((fields) => fields.event)
    .map((fields) => ({ event: fields.event as string, data: JSON.parse(fields.data as string) }))

describe('GET /v1/videos/{taskId}/events', () => {
  let gw: TestGateway
  let taskId: string
  beforeEach(async () => {
    gw = await startTestGateway({
      tenants: [team, stranger],
      simulator: { taskDurationMs: TASK_MS },
      env: {
        EVENTS_POLL_MS: String(POLL_MS),
        QUERY_FRESHNESS_MS: '0',
        BROWSER_TOKEN_SECRET: rememberSecret('sse-secret-0123456789-0123456789-abcdef'),
      },
    })
    const created = await createTask(gw, team.key)
    taskId = created.json().data.task_id
  })
  afterEach(async () => {
    await gw.close()
  })

  const listen = (headers: Record<string, string> = bearer(team.key), query = '') =>
    gw.app.inject({ method: 'GET', url: `/v1/videos/${taskId}/events${query}`, headers })

  it('streams each status change in order and ends after completed', async () => {
    const res = await listen()
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/event-stream')
    const events = parseEvents(res.body)
    const statuses = events.map((e) => e.data.status)
    expect(statuses[0]).toBe('queued')
    expect(statuses.at(-1)).toBe('completed')
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(1)
    const progress = events.map((e) => e.data.progress ?? 0)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    expect(new Set(events.map((e) => `${e.data.status}/${e.data.progress}`)).size).toBe(events.length)
  })

  it('serves many listeners from one upstream poll loop', async () => {
    const streams = await Promise.all(Array.from({ length: 20 }, () => listen()))
    for (const s of streams) expect(parseEvents(s.body).at(-1)?.data.status).toBe('completed')
    const polls = gw.upstream.calls.filter((c) => c.operation === 'query').length
    expect(polls).toBeLessThanOrEqual(Math.ceil(TASK_MS / POLL_MS) + 3)
  })

  it('answers a finished task from the store and ends at once', async () => {
    await listen()
    const before = gw.upstream.calls.length
    const again = parseEvents((await listen()).body)
    expect(again.map((e) => e.data.status)).toEqual(['completed'])
    expect(gw.upstream.calls.length).toBe(before)
  })

  it("answers another tenant's task with 404", async () => {
    const res = await listen(bearer(stranger.key))
    expect(res.statusCode).toBe(404)
  })

  it('accepts a browser token as access_token, for EventSource, but never a tenant key there', async () => {
    const minted = await gw.app.inject({
      method: 'POST',
      url: '/v1/browser-tokens',
      headers: bearer(team.key),
      payload: {},
    })
    const token = rememberSecret(minted.json().data.token)
    const withToken = await listen({}, `?access_token=${token}`)
    expect(withToken.statusCode).toBe(200)
    expect(parseEvents(withToken.body).at(-1)?.data.status).toBe('completed')
    const withKey = await listen({}, `?access_token=${team.key}`)
    expect(withKey.statusCode).toBe(401)
  })

  it('sends error events while the upstream fails, then goes on', async () => {
    gw.upstream.failNext('query', { kind: 'status', status: 500 }, 2)
    const events = parseEvents((await listen()).body)
    expect(events[0]).toMatchObject({ event: 'error', data: { code: '50202' } })
    expect(events.at(-1)?.data.status).toBe('completed')
  })
})
