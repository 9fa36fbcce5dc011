import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { expectErrorEnvelope, REQUEST_ID_PATTERN } from './helpers/envelope.js'
import {
  bearer,
  makeTenant,
  startTestGateway,
  type TestGateway,
  UPSTREAM_TEST_TOKEN,
} from './helpers/gateway.js'

// Lists the origin the header tests send, so the origin check lets those requests through.
const marketing = makeTenant('marketing', { cors_origins: ['https://caller.example.com'] })

const images = (n: number) => Array.from({ length: n }, (_, i) => `https://cdn.example.com/refs/${i}.png`)

describe('POST /v1/gemini/omni/videos as the upstream sees it', () => {
  let gw: TestGateway
  beforeEach(async () => {
    gw = await startTestGateway({ tenants: [marketing] })
  })
  afterEach(async () => {
    await gw.close()
  })

  const create = (payload: object, headers: Record<string, string> = {}) =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(marketing.key), ...headers },
      payload,
    })

  /** The one create call the upstream received. */
  function onlyUpstreamCall() {
    expect(gw.upstream.calls).toHaveLength(1)
    const call = gw.upstream.calls[0]
    if (!call) throw new Error('no upstream call')
    expect(call.operation).toBe('create')
    expect(call.method).toBe('POST')
    expect(call.path).toBe('/api/open-api/v1/gemini/omni/videos')
    return call
  }

  it('rewrites an alias to Gemini-Omini and sends the server token upstream', async () => {
    const res = await create({ model: 'gemini-omni', prompt: 'a red kite' })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.task_id).toMatch(/^sim_/)
    const call = gw.upstream.calls[0]
    expect(call?.body).toEqual({ model: 'Gemini-Omini', prompt: 'a red kite' })
    expect(call?.headers.authorization).toBe(`Bearer ${UPSTREAM_TEST_TOKEN}`)
  })

  it('answers the upstream body unchanged', async () => {
    const res = await create({ model: 'Omni-Flash-Ext', prompt: 'a red kite' })
    const upstreamAnswer = res.json()
    expect(Object.keys(upstreamAnswer)).toEqual(['code', 'msg', 'data'])
    expect(Object.keys(upstreamAnswer.data)).toEqual(['task_id', 'status', 'model', 'created_at'])
  })

  describe('model names', () => {
    it.each(['Gemini-Omini', 'Omni-Flash-Ext', 'gemini-omni'])(
      'sends %s upstream as Gemini-Omini with every other field as the caller sent it',
      async (model) => {
        const sent = {
          model,
          prompt: 'a red kite over the sea',
          duration: 8,
          resolution: '1080p',
          aspect_ratio: '21:9',
          orientation: 'landscape',
          generation_type: 'reference',
          image_urls: images(3),
          video_urls: [],
        }
        const res = await create(sent)
        expect(res.statusCode, res.body).toBe(200)
        expect(onlyUpstreamCall().body).toEqual({ ...sent, model: 'Gemini-Omini' })
        expect(res.json().data.model).toBe('Gemini-Omini')
      },
    )

    it('sends omni-10s upstream without the duration and resolution it ignores, keeping its image_urls', async () => {
      const res = await create({
        model: 'omni-10s',
        prompt: 'a red kite',
        duration: 4,
        resolution: '4k',
        aspect_ratio: '9:16',
        image_urls: [...images(6), 'https://cdn.example.com/refs/clip.mp4'],
      })
      expect(res.statusCode, res.body).toBe(200)
      expect(onlyUpstreamCall().body).toEqual({
        model: 'omni-10s',
        prompt: 'a red kite',
        aspect_ratio: '9:16',
        image_urls: [...images(6), 'https://cdn.example.com/refs/clip.mp4'],
      })
    })
  })

  describe('the compatibility field images', () => {
    it('is forwarded as image_urls, and images itself is not forwarded, when image_urls is absent', async () => {
      const res = await create({ model: 'Gemini-Omini', prompt: 'a red kite', images: images(3) })
      expect(res.statusCode, res.body).toBe(200)
      expect(onlyUpstreamCall().body).toEqual({
        model: 'Gemini-Omini',
        prompt: 'a red kite',
        image_urls: images(3),
      })
    })

    it('is forwarded as image_urls when image_urls is empty', async () => {
      const res = await create({
        model: 'Gemini-Omini',
        prompt: 'a red kite',
        generation_type: 'frame',
        image_urls: [],
        images: images(1),
      })
      expect(res.statusCode, res.body).toBe(200)
      expect(onlyUpstreamCall().body).toEqual({
        model: 'Gemini-Omini',
        prompt: 'a red kite',
        generation_type: 'frame',
        image_urls: images(1),
      })
    })

    it('is forwarded as image_urls for omni-10s too', async () => {
      const res = await create({ model: 'omni-10s', prompt: 'a red kite', images: images(7) })
      expect(res.statusCode, res.body).toBe(200)
      expect(onlyUpstreamCall().body).toEqual({
        model: 'omni-10s',
        prompt: 'a red kite',
        image_urls: images(7),
      })
    })

    it('is ignored and not forwarded when image_urls is not empty', async () => {
      const own = ['https://cdn.example.com/own/first-frame.png']
      const res = await create({
        model: 'Gemini-Omini',
        prompt: 'a red kite',
        image_urls: own,
        images: images(3),
      })
      expect(res.statusCode, res.body).toBe(200)
      expect(onlyUpstreamCall().body).toEqual({
        model: 'Gemini-Omini',
        prompt: 'a red kite',
        image_urls: own,
      })
    })
  })

  describe('headers sent upstream', () => {
    const TRANSPORT = ['host', 'content-length', 'connection']
    const ALLOWED = ['content-type', 'accept', 'x-request-id', 'user-agent', 'authorization', ...TRANSPORT]

    const callerHeaders = {
      cookie: 'session=caller-session-cookie',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-host': 'caller.example.com',
      'x-forwarded-proto': 'https',
      'x-real-ip': '203.0.113.7',
      forwarded: 'for=203.0.113.7',
      'idempotency-key': 'caller-idempotency-key-1',
      'x-custom': 'caller-custom-value',
      'user-agent': 'caller-script/1.0',
      origin: 'https://caller.example.com',
      referer: 'https://caller.example.com/page',
      'accept-language': 'de-DE',
    }

    it('are only Content-Type, Accept, X-Request-Id, the gateway User-Agent and the server token, plus transport headers', async () => {
      const res = await create({ model: 'Gemini-Omini', prompt: 'a red kite' }, callerHeaders)
      expect(res.statusCode, res.body).toBe(200)
      const { headers } = onlyUpstreamCall()
      for (const name of Object.keys(headers)) expect(ALLOWED, `header ${name} went upstream`).toContain(name)
      expect(headers['content-type']).toMatch(/^application\/json/)
      expect(headers.accept).toBe('application/json')
      expect(headers['x-request-id']).toBe(res.headers['x-request-id'])
      expect(headers.authorization).toBe(`Bearer ${UPSTREAM_TEST_TOKEN}`)
      expect(headers['user-agent']).toMatch(/omni-gateway/)
    })

    it.each(Object.keys(callerHeaders).filter((name) => name !== 'user-agent'))(
      "do not include the caller's %s",
      async (name) => {
        await create({ model: 'Gemini-Omini', prompt: 'a red kite' }, callerHeaders)
        const { headers } = onlyUpstreamCall()
        expect(headers[name]).toBeUndefined()
        const value = callerHeaders[name as keyof typeof callerHeaders]
        expect(JSON.stringify(headers)).not.toContain(value)
      },
    )

    it("do not include the caller's User-Agent but the gateway's own", async () => {
      await create({ model: 'Gemini-Omini', prompt: 'a red kite' }, callerHeaders)
      const { headers } = onlyUpstreamCall()
      expect(headers['user-agent']).not.toBe(callerHeaders['user-agent'])
      expect(JSON.stringify(headers)).not.toContain('caller-script')
    })

    it("do not include the caller's tenant key in any header", async () => {
      await create({ model: 'Gemini-Omini', prompt: 'a red kite' }, callerHeaders)
      const { headers, body } = onlyUpstreamCall()
      expect(headers.authorization).not.toContain(marketing.key)
      expect(JSON.stringify(headers)).not.toContain(marketing.key)
      expect(JSON.stringify(body)).not.toContain(marketing.key)
    })
  })

  describe('X-Request-Id', () => {
    it.each([
      ['letters, digits and . _ : -', 'trace-01.AbZ_9:x'],
      ['one character', 'a'],
      ['128 characters', 'r'.repeat(128)],
    ])("keeps a caller's id of %s: echoed on the response and sent upstream", async (_name, id) => {
      const res = await create({ model: 'Gemini-Omini', prompt: 'a red kite' }, { 'x-request-id': id })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['x-request-id']).toBe(id)
      expect(onlyUpstreamCall().headers['x-request-id']).toBe(id)
    })

    it.each([
      ['200 characters long', 'r'.repeat(200)],
      ['129 characters long', 'r'.repeat(129)],
      ['containing spaces', 'trace id with spaces'],
      ['containing a slash', 'trace/01'],
      ['containing a quote', 'trace"01'],
      ['empty', ''],
    ])('replaces a caller id %s with a new valid one, used upstream too', async (_name, id) => {
      const res = await create({ model: 'Gemini-Omini', prompt: 'a red kite' }, { 'x-request-id': id })
      expect(res.statusCode, res.body).toBe(200)
      const given = res.headers['x-request-id']
      expect(given).not.toBe(id)
      expect(given).toMatch(REQUEST_ID_PATTERN)
      expect(onlyUpstreamCall().headers['x-request-id']).toBe(given)
    })

    it('is new for each request that brings none', async () => {
      const first = await create({ model: 'Gemini-Omini', prompt: 'a red kite' })
      const second = await create({ model: 'Gemini-Omini', prompt: 'a red kite' })
      expect(first.headers['x-request-id']).toMatch(REQUEST_ID_PATTERN)
      expect(second.headers['x-request-id']).toMatch(REQUEST_ID_PATTERN)
      expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id'])
      expect(gw.upstream.calls.map((c) => c.headers['x-request-id'])).toEqual([
        first.headers['x-request-id'],
        second.headers['x-request-id'],
      ])
    })

    it("appears as request_id in a validation error's envelope", async () => {
      const res = await create(
        { model: 'Gemini-Omini', prompt: 'a red kite', duration: 5 },
        { 'x-request-id': 'req-400' },
      )
      const body = expectErrorEnvelope(res, 400, '/duration')
      expect(res.headers['x-request-id']).toBe('req-400')
      expect(body.request_id).toBe('req-400')
      expect(gw.upstream.calls).toEqual([])
    })

    it("appears as request_id in an authentication error's envelope", async () => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/gemini/omni/videos',
        headers: { 'x-request-id': 'req-401' },
        payload: { model: 'Gemini-Omini', prompt: 'a red kite' },
      })
      const body = expectErrorEnvelope(res, 401)
      expect(body.request_id).toBe('req-401')
    })

    it("appears as request_id in an unknown route's envelope", async () => {
      const res = await gw.app.inject({
        method: 'GET',
        url: '/v1/nowhere',
        headers: { 'x-request-id': 'req-404' },
      })
      const body = expectErrorEnvelope(res, 404)
      expect(body.request_id).toBe('req-404')
    })

    it("is a fresh id, the same in header and envelope, when the caller's id is invalid", async () => {
      const res = await create({ model: 'Gemini-Omini', prompt: '   ' }, { 'x-request-id': 'not valid!' })
      const body = expectErrorEnvelope(res, 400, '/prompt')
      expect(body.request_id).not.toBe('not valid!')
    })
  })
})
