import type { AddressInfo } from 'node:net'
import { Client } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { generateKey, hashKey } from '../src/tenants/keys.js'
import { expectErrorEnvelope } from './helpers/envelope.js'
import {
  bearer,
  createTask as createTaskIn,
  makeTenant,
  startTestGateway,
  type TestGateway,
  type TestTenant,
} from './helpers/gateway.js'
import { rememberSecret } from './helpers/secrets.js'

const marketing = makeTenant('marketing')

/** A tenant with a live key and a revoked (disabled) one. */
const revokedKey = rememberSecret(generateKey())
const rotating: TestTenant = (() => {
  const key = rememberSecret(generateKey())
  return {
    key,
    entry: {
      id: 'rotating',
      keys: [
        { id: 'rotating-live', sha256: hashKey(key) },
        { id: 'rotating-old', sha256: hashKey(revokedKey), disabled: true },
      ],
    },
  }
})()

const unknownKey = rememberSecret(generateKey())
const BODY_LIMIT_BYTES = 2048
const validCreate = { model: 'Gemini-Omini', prompt: 'a red kite' }

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway({
    tenants: [marketing, rotating],
    env: { BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) },
  })
})
afterAll(async () => {
  await gw.close()
})
beforeEach(() => {
  gw.upstream.calls.length = 0
})

const post = (url: string, headers: Record<string, string>, payload: unknown = validCreate) =>
  gw.app.inject({ method: 'POST', url, headers, payload: payload as object })

/** A 401 envelope that repeats no credential, and no upstream call. */
function expectUnauthorized(res: Awaited<ReturnType<typeof post>>, sentCredential?: string): void {
  expectErrorEnvelope(res, 401)
  expect(res.json().code.startsWith('401')).toBe(true)
  expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
  if (sentCredential) expect(res.body).not.toContain(sentCredential)
  expect(gw.upstream.calls).toEqual([])
}

async function createTask(key: string): Promise<string> {
  const res = await post('/v1/gemini/omni/videos', bearer(key))
  expect(res.statusCode, res.body).toBe(200)
  const taskId = res.json().data.task_id as string
  expect(taskId).toMatch(/^sim_/)
  return taskId
}

describe('a create without a valid tenant key gets 401 and costs nothing upstream', () => {
  const withSpaces = `${marketing.key.slice(0, 20)} ${marketing.key.slice(20)}`
  const lastCharChanged = `${marketing.key.slice(0, -1)}${marketing.key.endsWith('A') ? 'B' : 'A'}`

  const refused: [string, Record<string, string>, string | undefined][] = [
    ['no Authorization header', {}, undefined],
    ['an empty Authorization header', { authorization: '' }, undefined],
    ['the Bearer scheme without a key', { authorization: 'Bearer' }, undefined],
    ['the Bearer scheme with a blank key', { authorization: 'Bearer    ' }, undefined],
    ['a valid key without a scheme', { authorization: marketing.key }, marketing.key],
    ['a valid key under the Token scheme', { authorization: `Token ${marketing.key}` }, marketing.key],
    [
      'a valid key under the Basic scheme',
      { authorization: `Basic ${Buffer.from(`${marketing.key}:`).toString('base64')}` },
      marketing.key,
    ],
    ['a valid key in an X-Api-Key header instead', { 'x-api-key': marketing.key }, marketing.key],
    ['an unknown well-formed key', bearer(unknownKey), unknownKey],
    ['a valid key with its last character changed', bearer(lastCharChanged), lastCharChanged],
    ['a key that is too short', bearer('og_short'), 'og_short'],
    ['a key with a space inside', bearer(withSpaces), withSpaces],
    [
      'a valid key followed by another word',
      { authorization: `Bearer ${marketing.key} extra` },
      marketing.key,
    ],
    ['a key far too long', bearer('k'.repeat(300)), 'k'.repeat(300)],
    ['a disabled key', bearer(revokedKey), revokedKey],
  ]

  it.each(refused)('refuses %s', async (_name, headers, credential) => {
    expectUnauthorized(await post('/v1/gemini/omni/videos', headers), credential)
  })

  it('accepts the live key of the tenant whose other key is disabled', async () => {
    await createTask(rotating.key)
    expect(gw.upstream.calls).toHaveLength(1)
  })

  it('accepts the scheme name in any letter case, as HTTP allows', async () => {
    const res = await post('/v1/gemini/omni/videos', { authorization: `bearer ${marketing.key}` })
    expect(res.statusCode, res.body).toBe(200)
    expect(gw.upstream.calls).toHaveLength(1)
  })
})

describe('authentication comes before the body is looked at', () => {
  const refusedBodies: [string, Record<string, string>, string][] = [
    ['a body that is not JSON', { 'content-type': 'application/json' }, '{"model": '],
    ['a body sent as text/plain', { 'content-type': 'text/plain' }, JSON.stringify(validCreate)],
    ['a form body', { 'content-type': 'application/x-www-form-urlencoded' }, 'model=Gemini-Omini'],
    [
      'a body over BODY_LIMIT_BYTES',
      { 'content-type': 'application/json' },
      JSON.stringify({ ...validCreate, prompt: 'x'.repeat(BODY_LIMIT_BYTES) }),
    ],
    [
      'a body with an unknown field',
      { 'content-type': 'application/json' },
      JSON.stringify({ ...validCreate, durration: 10 }),
    ],
    [
      'a body with a bad duration',
      { 'content-type': 'application/json' },
      JSON.stringify({ ...validCreate, duration: 5 }),
    ],
  ]

  it.each(refusedBodies)(
    'answers 401, not 400/413/415, to a bad key with %s',
    async (_name, headers, raw) => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/gemini/omni/videos',
        headers: { ...bearer(unknownKey), ...headers },
        payload: raw,
      })
      expectUnauthorized(res, unknownKey)
    },
  )

  it.each(refusedBodies)('answers 401 to no key at all with %s', async (_name, headers, raw) => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/gemini/omni/videos', headers, payload: raw })
    expectUnauthorized(res)
  })

  it('answers the body error itself once the key is valid', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(marketing.key), 'content-type': 'application/json' },
      payload: '{"model": ',
    })
    expectErrorEnvelope(res, 400)
    expect(gw.upstream.calls).toEqual([])
  })
})

describe('the query and list routes need a tenant key too', () => {
  let taskId: string
  beforeAll(async () => {
    taskId = await createTask(marketing.key)
  })

  const credentials: [string, Record<string, string>][] = [
    ['no key', {}],
    ['an unknown key', bearer(unknownKey)],
    ['a malformed key', bearer('not a key')],
    ['a disabled key', bearer(revokedKey)],
  ]

  it.each(credentials)(
    'GET /v1/videos/{taskId} with %s is 401 and asks the upstream nothing',
    async (_name, headers) => {
      const res = await gw.app.inject({ method: 'GET', url: `/v1/videos/${taskId}`, headers })
      expectUnauthorized(res)
    },
  )

  it.each(credentials)('GET /v1/videos with %s is 401', async (_name, headers) => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers })
    expectUnauthorized(res)
  })

  it('GET /v1/videos/{taskId} with a bad key and a malformed task id is 401, not 400', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/v1/videos/not%20an%20id',
      headers: bearer(unknownKey),
    })
    expectUnauthorized(res)
  })

  it('GET /v1/videos/{taskId} with the owning tenant key answers the task', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: `/v1/videos/${taskId}`,
      headers: bearer(marketing.key),
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.task_id).toBe(taskId)
  })

  it("GET /v1/videos with a tenant key lists that tenant's task", async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(marketing.key) })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.items.map((t: { task_id: string }) => t.task_id)).toContain(taskId)
  })
})

describe('every tenant route is served under the /api/open-api prefix as well', () => {
  it('POST /api/open-api/v1/gemini/omni/videos creates a task, rewriting the model as usual', async () => {
    const res = await post('/api/open-api/v1/gemini/omni/videos', bearer(marketing.key), {
      model: 'Omni-Flash-Ext',
      prompt: 'a red kite',
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.task_id).toMatch(/^sim_/)
    expect(gw.upstream.calls).toHaveLength(1)
    expect(gw.upstream.calls[0]?.body).toEqual({ model: 'Gemini-Omini', prompt: 'a red kite' })
  })

  it('POST /api/open-api/v1/gemini/omni/videos validates as usual', async () => {
    const res = await post('/api/open-api/v1/gemini/omni/videos', bearer(marketing.key), {
      ...validCreate,
      durration: 10,
    })
    expectErrorEnvelope(res, 400, '/durration')
    expect(gw.upstream.calls).toEqual([])
  })

  it('GET /api/open-api/v1/videos/{taskId} and GET /api/open-api/v1/videos answer a task created without the prefix', async () => {
    const taskId = await createTask(marketing.key)
    const one = await gw.app.inject({
      method: 'GET',
      url: `/api/open-api/v1/videos/${taskId}`,
      headers: bearer(marketing.key),
    })
    expect(one.statusCode, one.body).toBe(200)
    expect(one.json().data.task_id).toBe(taskId)
    const list = await gw.app.inject({
      method: 'GET',
      url: '/api/open-api/v1/videos',
      headers: bearer(marketing.key),
    })
    expect(list.statusCode, list.body).toBe(200)
    expect(list.json().data.items.map((t: { task_id: string }) => t.task_id)).toContain(taskId)
  })

  it.each([
    ['POST', '/api/open-api/v1/gemini/omni/videos'],
    ['GET', '/api/open-api/v1/videos/sim_0123456789abcdef'],
    ['GET', '/api/open-api/v1/videos'],
  ] as const)('%s %s without a key is 401', async (method, url) => {
    const res = await gw.app.inject({ method, url, ...(method === 'POST' ? { payload: validCreate } : {}) })
    expectUnauthorized(res)
  })
})

describe('an unknown route', () => {
  it.each([
    ['GET', '/v1/nothing-here'],
    ['POST', '/v2/gemini/omni/videos'],
    ['GET', '/api/open-api/v1/unknown'],
    ['GET', '/api/open-api'],
    ['DELETE', '/v1/videos/sim_0123456789abcdef'],
    ['PUT', '/v1/gemini/omni/videos'],
  ] as const)('%s %s gets a 404 envelope and no upstream call', async (method, url) => {
    const res = await gw.app.inject({ method, url, headers: bearer(marketing.key) })
    const body = expectErrorEnvelope(res, 404)
    expect(body.code.startsWith('404')).toBe(true)
    expect(gw.upstream.calls).toEqual([])
  })

  it('gets a 404, not a 401, without a key', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/nothing-here' })
    expectErrorEnvelope(res, 404)
  })
})

describe('keys on one keep-alive connection', () => {
  const first = makeTenant('first')
  const second = makeTenant('second')
  let own: TestGateway
  let connection: Client

  beforeAll(async () => {
    own = await startTestGateway({ tenants: [first, second] })
    await own.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = own.app.server.address() as AddressInfo
    // One connection, one request at a time: every request below travels on the same socket.
    connection = new Client(`http://127.0.0.1:${port}`, { pipelining: 1 })
  })
  afterAll(async () => {
    await connection.close()
    await own.close()
  })

  const listAs = async (key: string) => {
    const res = await connection.request({ method: 'GET', path: '/v1/videos', headers: bearer(key) })
    return { status: res.statusCode, body: (await res.body.json()) as { code: string; data: unknown } }
  }
  const ownTaskIds = (body: { data: unknown }) =>
    (body.data as { items: { task_id: string }[] }).items.map((task) => task.task_id)

  it("each get their own tenant's tasks, however they alternate", async () => {
    const firstTask = (await createTaskIn(own, first.key)).json().data.task_id as string
    const secondTask = (await createTaskIn(own, second.key)).json().data.task_id as string
    for (const [key, task] of [
      [first.key, firstTask],
      [second.key, secondTask],
      [second.key, secondTask],
      [first.key, firstTask],
    ] as const) {
      const { status, body } = await listAs(key)
      expect(status).toBe(200)
      expect(ownTaskIds(body)).toEqual([task])
    }
  })

  it('refuse a key one character away from the one the connection used before', async () => {
    expect((await listAs(first.key)).status).toBe(200)
    const near = `${first.key.slice(0, -1)}${first.key.endsWith('A') ? 'B' : 'A'}`
    const { status, body } = await listAs(near)
    expect(status).toBe(401)
    expect(body.code).toBe('40101')
  })

  it('refuse a key disabled by a reload on its very next request', async () => {
    expect((await listAs(first.key)).status).toBe(200)
    own.deps.tenants.replace({
      tenants: [
        { ...first.entry, keys: first.entry.keys.map((k) => ({ ...k, disabled: true })) },
        second.entry,
      ],
    })
    const { status, body } = await listAs(first.key)
    expect(status).toBe(401)
    expect(body.code).toBe('40101')
    expect((await listAs(second.key)).status).toBe(200)
  })
})
