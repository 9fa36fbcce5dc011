import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Fault } from '../src/simulator/app.js'
import {
  bearer,
  createTask,
  makeTenant,
  startTestGateway,
  type TestGateway,
  UPSTREAM_TEST_TOKEN,
} from './helpers/gateway.js'

const team = makeTenant('team')

describe('upstream failures on create (contract §7)', () => {
  let gw: TestGateway
  beforeEach(async () => {
    gw = await startTestGateway({ tenants: [team], env: { UPSTREAM_TIMEOUT_MS: '300' } })
  })
  afterEach(async () => {
    await gw.close()
  })

  const create = () => createTask(gw, team.key)
  const listedTasks = async () =>
    (await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(team.key) })).json().data.items

  const cases: [string, number, Fault, string][] = [
    ['a refused server token (401)', 502, { kind: 'status', status: 401 }, '502'],
    ['a forbidden server token (403)', 502, { kind: 'status', status: 403 }, '502'],
    [
      'upstream rate limiting (429)',
      503,
      { kind: 'status', status: 429, headers: { 'retry-after': '7' } },
      '503',
    ],
    ['an upstream 500', 502, { kind: 'status', status: 500 }, '502'],
    ['an upstream 503', 502, { kind: 'status', status: 503 }, '502'],
    ['a connection reset', 502, { kind: 'reset' }, '502'],
    ['a body that is not JSON', 502, { kind: 'garbage' }, '502'],
    ['no answer within UPSTREAM_TIMEOUT_MS', 504, { kind: 'hang' }, '504'],
  ]

  it.each(cases)('maps %s to %i and records no task', async (_name, status, fault, codePrefix) => {
    gw.upstream.failNext('create', fault)
    const res = await create()
    expect(res.statusCode).toBe(status)
    const body = res.json()
    expect(body.code.slice(0, 3)).toBe(codePrefix)
    expect(body.data).toBeNull()
    expect(body.request_id).toBe(res.headers['x-request-id'])
    expect(res.body).not.toContain(UPSTREAM_TEST_TOKEN)
    expect(await listedTasks()).toEqual([])
    expect(gw.upstream.calls.filter((c) => c.operation === 'create')).toHaveLength(1)
  })

  it('passes the upstream Retry-After on when the upstream rate limits', async () => {
    gw.upstream.failNext('create', { kind: 'status', status: 429, headers: { 'retry-after': '7' } })
    const res = await create()
    expect(res.headers['retry-after']).toBe('7')
  })

  it('never mentions the token when the upstream refuses it', async () => {
    gw.upstream.failNext('create', {
      kind: 'status',
      status: 401,
      body: JSON.stringify({ code: '40100', msg: `bad token ${UPSTREAM_TEST_TOKEN}` }),
    })
    const res = await create()
    expect(res.statusCode).toBe(502)
    expect(res.body).not.toContain(UPSTREAM_TEST_TOKEN)
    expect(res.body).not.toContain('bad token')
  })

  it.each([400, 402, 404, 409, 422])(
    'relays an upstream %i with its status and body unchanged',
    async (status) => {
      const body = JSON.stringify({ code: `${status}07`, msg: 'insufficient balance', data: null })
      gw.upstream.failNext('create', { kind: 'status', status, body })
      const res = await create()
      expect(res.statusCode).toBe(status)
      expect(res.body).toBe(body)
      expect(await listedTasks()).toEqual([])
    },
  )

  it('relays a 2xx whose code is not "20000" unchanged and records no task', async () => {
    const body = JSON.stringify({ code: '40002', msg: 'balance too low', data: null })
    gw.upstream.failNext('create', { kind: 'status', status: 200, body })
    const res = await create()
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe(body)
    expect(await listedTasks()).toEqual([])
  })

  it('answers 502 when a success carries no task id, and records nothing', async () => {
    gw.upstream.failNext('create', {
      kind: 'status',
      status: 200,
      body: JSON.stringify({ code: '20000', msg: 'ok', data: { status: 'queued' } }),
    })
    const res = await create()
    expect(res.statusCode).toBe(502)
    expect(await listedTasks()).toEqual([])
  })

  it('never sends a create twice, whatever the failure', async () => {
    for (const fault of cases.map((c) => c[2])) gw.upstream.failNext('create', fault)
    for (const _ of cases) await create()
    expect(gw.upstream.calls.filter((c) => c.operation === 'create')).toHaveLength(cases.length)
  })
})

describe('upstream failures on query (contract §7)', () => {
  let gw: TestGateway
  let taskId: string
  beforeEach(async () => {
    gw = await startTestGateway({
      tenants: [team],
      env: { UPSTREAM_TIMEOUT_MS: '300', QUERY_FRESHNESS_MS: '0' },
    })
    const created = await createTask(gw, team.key)
    taskId = created.json().data.task_id
  })
  afterEach(async () => {
    await gw.close()
  })

  const query = () => gw.app.inject({ method: 'GET', url: `/v1/videos/${taskId}`, headers: bearer(team.key) })

  it.each<[string, number, Fault]>([
    ['a refused server token', 502, { kind: 'status', status: 401 }],
    ['upstream rate limiting', 503, { kind: 'status', status: 429 }],
    ['an upstream 502', 502, { kind: 'status', status: 502 }],
    ['a connection reset', 502, { kind: 'reset' }],
    ['a body that is not JSON', 502, { kind: 'garbage' }],
    ['no answer in time', 504, { kind: 'hang' }],
  ])('maps %s to %i in the envelope, after the allowed retries', async (_name, status, fault) => {
    gw.upstream.failNext('query', fault, 3)
    const res = await query()
    expect(res.statusCode).toBe(status)
    expect(res.json()).toMatchObject({ data: null, code: expect.stringMatching(new RegExp(`^${status}`)) })
    if (status === 503) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('relays an upstream 404 for a task it no longer knows', async () => {
    const body = JSON.stringify({ code: '40400', msg: 'task not found', data: null })
    gw.upstream.failNext('query', { kind: 'status', status: 404, body })
    const res = await query()
    expect(res.statusCode).toBe(404)
    expect(res.body).toBe(body)
  })
})
