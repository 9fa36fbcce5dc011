import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  bearer,
  makeTenant,
  manualClock,
  startTestGateway,
  type TestGateway,
  validCreate,
} from './helpers/gateway.js'
import { rememberSecret } from './helpers/secrets.js'

const APP = 'https://video-app.example.com'
const OTHER_APP = 'https://other-app.example.com'
const SECRET = rememberSecret('browser-token-secret-for-tests-0123456789abcdef')
const web = makeTenant('web', { cors_origins: [APP] })
const other = makeTenant('other', { cors_origins: [OTHER_APP] })

describe('calling from a browser', () => {
  let gw: TestGateway
  const clock = manualClock(Date.now())
  beforeEach(async () => {
    gw = await startTestGateway({ tenants: [web, other], clock, env: { BROWSER_TOKEN_SECRET: SECRET } })
  })
  afterEach(async () => {
    await gw.close()
  })

  const mint = async (body: object = {}, key = web.key) => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/browser-tokens',
      headers: bearer(key),
      payload: body,
    })
    expect(res.statusCode).toBe(200)
    return rememberSecret(res.json().data.token as string)
  }
  const createWith = (token: string, origin = APP) =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(token), origin },
      payload: validCreate,
    })

  describe('CORS', () => {
    it('answers a preflight from a listed origin with exactly the methods and headers the routes need', async () => {
      const res = await gw.app.inject({
        method: 'OPTIONS',
        url: '/v1/gemini/omni/videos',
        headers: {
          origin: APP,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      })
      expect(res.statusCode).toBe(204)
      expect(res.headers['access-control-allow-origin']).toBe(APP)
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST')
      expect(res.headers['access-control-allow-headers']).toBe(
        'Authorization, Content-Type, Idempotency-Key, X-Request-Id',
      )
    })

    it('gives no CORS headers to an origin no tenant lists, and never a wildcard', async () => {
      const res = await gw.app.inject({
        method: 'OPTIONS',
        url: '/v1/gemini/omni/videos',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      })
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
      const real = await gw.app.inject({
        method: 'GET',
        url: '/v1/videos',
        headers: { ...bearer(web.key), origin: APP },
      })
      expect(real.headers['access-control-allow-origin']).toBe(APP)
      expect(JSON.stringify(real.headers)).not.toContain('"*"')
    })

    it('lets a listed origin read the answer and its headers, and says every answer varies by Origin', async () => {
      const real = await gw.app.inject({
        method: 'GET',
        url: '/v1/videos',
        headers: { ...bearer(web.key), origin: APP },
      })
      expect(real.statusCode).toBe(200)
      expect(real.headers.vary).toBe('Origin')
      expect(String(real.headers['access-control-expose-headers']).split(', ')).toEqual(
        expect.arrayContaining(['X-Request-Id', 'X-RateLimit-Remaining', 'Retry-After', 'X-Gateway-Source']),
      )
      const fromServer = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(web.key) })
      expect(fromServer.headers.vary).toBe('Origin')
      expect(fromServer.headers['access-control-allow-origin']).toBeUndefined()
      expect(fromServer.headers['access-control-expose-headers']).toBeUndefined()
    })

    it('refuses with 403 a request from an origin its tenant does not list, even one another tenant lists', async () => {
      const res = await gw.app.inject({
        method: 'GET',
        url: '/v1/videos',
        headers: { ...bearer(web.key), origin: OTHER_APP },
      })
      expect(res.statusCode).toBe(403)
      expect(res.json()).toMatchObject({ code: '40302', data: null })
    })
  })

  describe('browser tokens', () => {
    it('create, query and list with a token, within its tenant', async () => {
      const token = await mint({ origin: APP })
      const created = await createWith(token)
      expect(created.statusCode).toBe(200)
      const taskId = created.json().data.task_id
      const query = await gw.app.inject({
        method: 'GET',
        url: `/v1/videos/${taskId}`,
        headers: { ...bearer(token), origin: APP },
      })
      expect(query.statusCode).toBe(200)
      const list = await gw.app.inject({
        method: 'GET',
        url: '/v1/videos',
        headers: { ...bearer(token), origin: APP },
      })
      expect(list.json().data.items[0].task_id).toBe(taskId)
      const theirs = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(other.key) })
      expect(theirs.json().data.items).toEqual([])
    })

    it('get 401 once expired, and 401 when tampered with', async () => {
      const token = await mint({ ttl_seconds: 60 })
      const [head, payload, signature] = token.split('.') as [string, string, string]
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
      const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: 'other' })).toString('base64url')}.${signature}`
      expect((await createWith(forged)).statusCode).toBe(401)
      expect((await createWith(`${token.slice(0, -2)}xx`)).statusCode).toBe(401)
      clock.advance(60_000)
      const expired = await createWith(token)
      expect(expired.statusCode).toBe(401)
      expect(expired.json().code).toBe('40103')
    })

    it('cannot mint more tokens, read usage or reach admin routes', async () => {
      const token = await mint()
      const minting = await gw.app.inject({
        method: 'POST',
        url: '/v1/browser-tokens',
        headers: bearer(token),
        payload: {},
      })
      expect(minting.statusCode).toBe(403)
      const usage = await gw.app.inject({ method: 'GET', url: '/v1/usage', headers: bearer(token) })
      expect(usage.statusCode).toBe(403)
      expect(usage.json().code).toBe('40303')
    })

    it('stop after max_creates accepted creates', async () => {
      const token = await mint({ max_creates: 2 })
      expect((await createWith(token)).statusCode).toBe(200)
      gw.upstream.failNext('create', { kind: 'status', status: 500 })
      expect((await createWith(token)).statusCode).toBe(502)
      expect((await createWith(token)).statusCode).toBe(200)
      const capped = await createWith(token)
      expect(capped.statusCode).toBe(403)
      expect(capped.json().code).toBe('40304')
    })

    it('work only from the origin they are bound to', async () => {
      const token = await mint({ origin: APP })
      expect((await createWith(token, 'https://elsewhere.example.com')).statusCode).toBe(403)
      const serverSide = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(token) })
      expect(serverSide.statusCode).toBe(403)
    })

    it('refuse to bind to an origin the tenant does not list', async () => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/browser-tokens',
        headers: bearer(web.key),
        payload: { origin: OTHER_APP },
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().details[0].field).toBe('/origin')
    })

    it('die with the key that minted them', async () => {
      const token = await mint()
      expect((await createWith(token)).statusCode).toBe(200)
      gw.deps.tenants.replace({
        tenants: [
          { ...web.entry, keys: [{ ...web.entry.keys[0], disabled: true }] as typeof web.entry.keys },
          other.entry,
        ],
      })
      const res = await createWith(token)
      expect(res.statusCode).toBe(401)
    })

    it('are not offered at all when BROWSER_TOKEN_SECRET is unset', async () => {
      const plain = await startTestGateway({ tenants: [web], upstream: gw.upstream })
      try {
        const res = await plain.app.inject({
          method: 'POST',
          url: '/v1/browser-tokens',
          headers: bearer(web.key),
          payload: {},
        })
        expect(res.statusCode).toBe(404)
      } finally {
        await plain.close()
      }
    })
  })
})
