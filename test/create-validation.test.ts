import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { expectErrorEnvelope } from './helpers/envelope.js'
import { bearer, makeTenant, startTestGateway, type TestGateway } from './helpers/gateway.js'

/** Contract §5 step 2: every rule refuses what it should (before any upstream call) and lets the rest through. */

const open = makeTenant('open')
const omniOnly = makeTenant('omni-only', { models: ['omni-10s'] })
const standardOnly = makeTenant('standard-only', { models: ['Gemini-Omini'] })

const MAX_PROMPT_CHARS = 20
const BODY_LIMIT_BYTES = 2048

const images = (n: number, ext = 'png') =>
  Array.from({ length: n }, (_, i) => `https://cdn.example.com/refs/${i}.${ext}`)
const video = 'https://cdn.example.com/refs/clip.mp4'
const std = (extra: Record<string, unknown>) => ({ model: 'Gemini-Omini', prompt: 'a red kite', ...extra })
const omni = (extra: Record<string, unknown>) => ({ model: 'omni-10s', prompt: 'a red kite', ...extra })

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway({
    tenants: [open, omniOnly, standardOnly],
    env: { MAX_PROMPT_CHARS: String(MAX_PROMPT_CHARS), BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) },
  })
})
afterAll(async () => {
  await gw.close()
})
beforeEach(() => {
  gw.upstream.calls.length = 0
})

const create = (payload: unknown, key = open.key, headers: Record<string, string> = {}) =>
  gw.app.inject({
    method: 'POST',
    url: '/v1/gemini/omni/videos',
    headers: { ...bearer(key), ...headers },
    payload: payload as object,
  })

const send = (raw: string, contentType?: string, key = open.key) =>
  gw.app.inject({
    method: 'POST',
    url: '/v1/gemini/omni/videos',
    headers: { ...bearer(key), ...(contentType === undefined ? {} : { 'content-type': contentType }) },
    payload: raw,
  })

function expectForwardedOnce(res: Awaited<ReturnType<typeof create>>): void {
  expect(res.statusCode, res.body).toBe(200)
  expect(res.json().code).toBe('20000')
  expect(res.json().data.task_id).toMatch(/^sim_/)
  expect(gw.upstream.calls).toHaveLength(1)
  expect(gw.upstream.calls[0]?.operation).toBe('create')
}

function expectNothingForwarded(): void {
  expect(gw.upstream.calls).toEqual([])
}

describe('a create the rules refuse gets a 400 naming the field, and nothing reaches the upstream', () => {
  const refused: [string, unknown, string][] = [
    // model
    ['a model the upstream does not know', { model: 'veo-3', prompt: 'a red kite' }, '/model'],
    ['a model name in the wrong letter case', { model: 'GEMINI-OMINI', prompt: 'a red kite' }, '/model'],
    ['an empty model', { model: '', prompt: 'a red kite' }, '/model'],
    ['a missing model', { prompt: 'a red kite' }, '/model'],
    // prompt
    ['an empty prompt', std({ prompt: '' }), '/prompt'],
    ['a prompt of only spaces', std({ prompt: '    ' }), '/prompt'],
    ['a prompt of only tabs and newlines', std({ prompt: '\t\n \r\n' }), '/prompt'],
    [
      'a prompt one character over MAX_PROMPT_CHARS',
      std({ prompt: 'x'.repeat(MAX_PROMPT_CHARS + 1) }),
      '/prompt',
    ],
    ['a missing prompt', { model: 'Gemini-Omini' }, '/prompt'],
    // duration
    ['duration 5', std({ duration: 5 }), '/duration'],
    ['duration 0', std({ duration: 0 }), '/duration'],
    ['duration 12', std({ duration: 12 }), '/duration'],
    ['duration 6.5', std({ duration: 6.5 }), '/duration'],
    ['duration -6', std({ duration: -6 }), '/duration'],
    ['an out-of-range duration on omni-10s too', omni({ duration: 7 }), '/duration'],
    // resolution, orientation
    ['resolution 480p', std({ resolution: '480p' }), '/resolution'],
    ['resolution 4K in capitals', std({ resolution: '4K' }), '/resolution'],
    ['an empty resolution', std({ resolution: '' }), '/resolution'],
    ['orientation square', std({ orientation: 'square' }), '/orientation'],
    ['orientation Landscape in capitals', std({ orientation: 'Landscape' }), '/orientation'],
    // aspect_ratio
    ['aspect_ratio with a slash', std({ aspect_ratio: '16/9' }), '/aspect_ratio'],
    ['aspect_ratio with a zero width', std({ aspect_ratio: '0:9' }), '/aspect_ratio'],
    ['aspect_ratio with a zero height', std({ aspect_ratio: '16:0' }), '/aspect_ratio'],
    ['aspect_ratio with a negative width', std({ aspect_ratio: '-16:9' }), '/aspect_ratio'],
    ['aspect_ratio with a decimal', std({ aspect_ratio: '1.5:1' }), '/aspect_ratio'],
    ['aspect_ratio with three parts', std({ aspect_ratio: '16:9:1' }), '/aspect_ratio'],
    ['aspect_ratio with surrounding spaces', std({ aspect_ratio: ' 16:9 ' }), '/aspect_ratio'],
    ['aspect_ratio as a word', std({ aspect_ratio: 'wide' }), '/aspect_ratio'],
    ['aspect_ratio with only a width', std({ aspect_ratio: '16:' }), '/aspect_ratio'],
    // generation_type
    [
      'generation_type first_frame',
      std({ generation_type: 'first_frame', image_urls: images(1) }),
      '/generation_type',
    ],
    ['an empty generation_type', std({ generation_type: '' }), '/generation_type'],
    // URLs
    ['an ftp URL in image_urls', std({ image_urls: ['ftp://cdn.example.com/a.png'] }), '/image_urls/0'],
    [
      'a relative URL as the second of image_urls',
      std({ image_urls: ['https://cdn.example.com/a.png', '/refs/b.png'] }),
      '/image_urls/1',
    ],
    ['a URL without a scheme in image_urls', std({ image_urls: ['cdn.example.com/a.png'] }), '/image_urls/0'],
    ['a javascript: URL in image_urls', std({ image_urls: ['javascript:alert(1)'] }), '/image_urls/0'],
    [
      'a data: URL in image_urls',
      std({ image_urls: ['data:image/png;base64,iVBORw0KGgo='] }),
      '/image_urls/0',
    ],
    ['a URL without a host in image_urls', std({ image_urls: ['https://'] }), '/image_urls/0'],
    [
      'an https URL without slashes in image_urls',
      std({ image_urls: ['https:cdn.example.com/a.png'] }),
      '/image_urls/0',
    ],
    [
      'an http URL with one slash in image_urls',
      std({ image_urls: ['http:/cdn.example.com/a.png'] }),
      '/image_urls/0',
    ],
    [
      'a URL with a leading space in image_urls',
      std({ image_urls: [' https://cdn.example.com/a.png'] }),
      '/image_urls/0',
    ],
    [
      'a URL with a space inside in image_urls',
      std({ image_urls: ['https://cdn.example.com/a b.png'] }),
      '/image_urls/0',
    ],
    ['an empty string in image_urls', std({ image_urls: [''] }), '/image_urls/0'],
    ['a file URL in images', std({ images: ['file:///etc/passwd'] }), '/images/0'],
    [
      'a bad URL in images even when image_urls wins',
      std({ image_urls: images(1), images: ['ftp://cdn.example.com/a.png'] }),
      '/images/0',
    ],
    ['a ws URL in video_urls', std({ video_urls: ['ws://cdn.example.com/clip.mp4'] }), '/video_urls/0'],
    ['a relative URL in video_urls on omni-10s', omni({ video_urls: ['clip.mp4'] }), '/video_urls/0'],
    // Gemini-Omini counts
    ['frame mode with no image', std({ generation_type: 'frame' }), '/image_urls'],
    ['frame mode with an empty image_urls', std({ generation_type: 'frame', image_urls: [] }), '/image_urls'],
    ['frame mode with 2 image_urls', std({ generation_type: 'frame', image_urls: images(2) }), '/image_urls'],
    [
      'frame mode with 2 compatibility images',
      std({ generation_type: 'frame', images: images(2) }),
      '/images',
    ],
    [
      'reference mode with 2 images',
      std({ generation_type: 'reference', image_urls: images(2) }),
      '/image_urls',
    ],
    [
      'reference mode with 4 images',
      std({ generation_type: 'reference', image_urls: images(4) }),
      '/image_urls',
    ],
    ['the default (reference) mode with 2 images', std({ image_urls: images(2) }), '/image_urls'],
    ['the default mode with 2 compatibility images', std({ image_urls: [], images: images(2) }), '/images'],
    ['2 reference videos', std({ video_urls: [video, video] }), '/video_urls'],
    ['duration with a reference video', std({ duration: 6, video_urls: [video] }), '/duration'],
    // omni-10s
    ['omni-10s with 8 image_urls', omni({ image_urls: images(8) }), '/image_urls'],
    ['omni-10s with 8 compatibility images', omni({ images: images(8) }), '/images'],
    ['omni-10s with a reference video', omni({ video_urls: [video] }), '/video_urls'],
    ['omni-10s in frame mode', omni({ generation_type: 'frame', image_urls: images(1) }), '/generation_type'],
    // unknown fields
    ['a misspelt durration', std({ durration: 10 }), '/durration'],
    ['an image_url in the singular', std({ image_url: 'https://cdn.example.com/a.png' }), '/image_url'],
    [
      'a field the upstream does not have',
      std({ callback_url: 'https://hooks.example.com/' }),
      '/callback_url',
    ],
    // wrong types
    ['a number as prompt', std({ prompt: 123 }), '/prompt'],
    ['a string as duration', std({ duration: '6' }), '/duration'],
    ['a boolean as duration', std({ duration: true }), '/duration'],
    ['a number as resolution', std({ resolution: 1080 }), '/resolution'],
    ['a number as aspect_ratio', std({ aspect_ratio: 1.78 }), '/aspect_ratio'],
    ['null as orientation', std({ orientation: null }), '/orientation'],
    ['null as model', { model: null, prompt: 'a red kite' }, '/model'],
    ['a single string as image_urls', std({ image_urls: 'https://cdn.example.com/a.png' }), '/image_urls'],
    ['a number inside image_urls', std({ image_urls: [42] }), '/image_urls/0'],
    ['an object as video_urls', std({ video_urls: { url: video } }), '/video_urls'],
    ['a list as generation_type', std({ generation_type: ['frame'] }), '/generation_type'],
  ]

  it.each(refused)('refuses %s', async (_name, payload, field) => {
    const res = await create(payload)
    expectErrorEnvelope(res, 400, field)
    expectNothingForwarded()
  })

  it.each([
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"a red kite"'],
    ['a JSON number', '42'],
  ])('refuses %s as the body, naming the body', async (_name, raw) => {
    const res = await send(raw, 'application/json')
    const body = expectErrorEnvelope(res, 400, '/')
    expect(body.msg).toMatch(/JSON object/)
    expectNothingForwarded()
  })

  it('validates before it checks the model against the tenant, as the order of checks says', async () => {
    const res = await create(std({ duration: 5 }), omniOnly.key)
    expectErrorEnvelope(res, 400, '/duration')
    expectNothingForwarded()
  })
})

describe('a create every rule accepts is forwarded once', () => {
  const accepted: [string, unknown][] = [
    ['model Gemini-Omini', { model: 'Gemini-Omini', prompt: 'a red kite' }],
    ['model Omni-Flash-Ext', { model: 'Omni-Flash-Ext', prompt: 'a red kite' }],
    ['model gemini-omni', { model: 'gemini-omni', prompt: 'a red kite' }],
    ['model omni-10s', { model: 'omni-10s', prompt: 'a red kite' }],
    ['a one-character prompt', std({ prompt: 'k' })],
    ['a prompt of exactly MAX_PROMPT_CHARS characters', std({ prompt: 'x'.repeat(MAX_PROMPT_CHARS) })],
    [
      'a prompt of MAX_PROMPT_CHARS emoji (counted as characters)',
      std({ prompt: '🪁'.repeat(MAX_PROMPT_CHARS) }),
    ],
    ['a prompt with spaces around words', std({ prompt: '  a red kite  ' })],
    ['duration 4', std({ duration: 4 })],
    ['duration 6', std({ duration: 6 })],
    ['duration 8', std({ duration: 8 })],
    ['duration 10', std({ duration: 10 })],
    ['resolution 720p', std({ resolution: '720p' })],
    ['resolution 1080p', std({ resolution: '1080p' })],
    ['resolution 4k', std({ resolution: '4k' })],
    ['orientation landscape', std({ orientation: 'landscape' })],
    ['orientation portrait', std({ orientation: 'portrait' })],
    ['an empty aspect_ratio next to an orientation', std({ aspect_ratio: '', orientation: 'portrait' })],
    ['aspect_ratio 16:9', std({ aspect_ratio: '16:9' })],
    ['aspect_ratio 9:16', std({ aspect_ratio: '9:16' })],
    ['aspect_ratio 1:1', std({ aspect_ratio: '1:1' })],
    ['aspect_ratio 21:9', std({ aspect_ratio: '21:9' })],
    ['aspect_ratio 1920:1080', std({ aspect_ratio: '1920:1080' })],
    ['generation_type reference', std({ generation_type: 'reference' })],
    ['generation_type frame with exactly 1 image', std({ generation_type: 'frame', image_urls: images(1) })],
    [
      'generation_type frame with 1 compatibility image and an empty image_urls',
      std({ generation_type: 'frame', image_urls: [], images: images(1) }),
    ],
    ['reference mode with 0 images', std({ generation_type: 'reference', image_urls: [] })],
    ['reference mode with 1 image', std({ generation_type: 'reference', image_urls: images(1) })],
    ['reference mode with 3 images', std({ generation_type: 'reference', image_urls: images(3) })],
    ['the default mode with 3 compatibility images', std({ images: images(3) })],
    [
      '2 compatibility images ignored because image_urls holds 1',
      std({ image_urls: images(1), images: images(2, 'jpg') }),
    ],
    [
      'http and https URLs with ports, queries and fragments',
      std({
        image_urls: [
          'http://cdn.example.com:8080/a.png',
          'https://cdn.example.com/b.png?sig=abc&x=1',
          'HTTPS://CDN.EXAMPLE.COM/C.PNG#f',
        ],
      }),
    ],
    ['1 reference video without duration', std({ video_urls: [video] })],
    ['duration next to an empty video_urls (the upstream example)', std({ duration: 6, video_urls: [] })],
    [
      "the upstream's own example body",
      std({
        duration: 6,
        resolution: '720p',
        aspect_ratio: '16:9',
        generation_type: 'reference',
        image_urls: [],
        video_urls: [],
      }),
    ],
    ['omni-10s with 7 image_urls', omni({ image_urls: images(7) })],
    ['omni-10s with 7 image or video URLs mixed', omni({ image_urls: [...images(6), video] })],
    ['omni-10s with 7 compatibility images', omni({ images: images(7) })],
    ['omni-10s with an empty video_urls', omni({ video_urls: [] })],
    ['omni-10s with generation_type reference', omni({ generation_type: 'reference' })],
    ['omni-10s with a duration and a resolution it ignores', omni({ duration: 4, resolution: '4k' })],
  ]

  it.each(accepted)('accepts %s', async (_name, payload) => {
    expectForwardedOnce(await create(payload))
  })

  it('accepts application/json with a charset parameter', async () => {
    expectForwardedOnce(await send(JSON.stringify(std({})), 'application/json; charset=utf-8'))
  })
})

describe('a body that is not JSON, not declared as JSON, or too large is refused before any upstream call', () => {
  it.each([
    ['a truncated JSON object', '{"model": "Gemini-Omini", "prompt": '],
    ['single-quoted pseudo-JSON', "{'model': 'Gemini-Omini', 'prompt': 'a red kite'}"],
    ['plain words', 'a red kite over the sea'],
    ['an empty body', ''],
  ])('answers 400 to %s sent as application/json', async (_name, raw) => {
    const res = await send(raw, 'application/json')
    const body = expectErrorEnvelope(res, 400)
    expect(body.msg).toMatch(/JSON/)
    expectNothingForwarded()
  })

  it.each([
    ['text/plain', 'text/plain'],
    ['text/plain with a charset', 'text/plain; charset=utf-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['XML', 'application/xml'],
  ])('answers 415 to a JSON body sent as %s', async (_name, contentType) => {
    const res = await send(JSON.stringify(std({})), contentType)
    const body = expectErrorEnvelope(res, 415)
    expect(body.msg).toMatch(/application\/json/)
    expectNothingForwarded()
  })

  it('answers 415 to a body without a Content-Type', async () => {
    const res = await send(JSON.stringify(std({})))
    expectErrorEnvelope(res, 415)
    expectNothingForwarded()
  })

  /** A valid body of exactly `bytes` bytes: one reference image whose URL is padded to fit. */
  function bodyOfBytes(bytes: number): string {
    const make = (pad: number) =>
      JSON.stringify(std({ image_urls: [`https://cdn.example.com/${'a'.repeat(pad)}.png`] }))
    const raw = make(bytes - Buffer.byteLength(make(0)))
    expect(Buffer.byteLength(raw)).toBe(bytes)
    return raw
  }

  it('accepts a body of exactly BODY_LIMIT_BYTES', async () => {
    expectForwardedOnce(await send(bodyOfBytes(BODY_LIMIT_BYTES), 'application/json'))
  })

  it('answers 413 to a body one byte over BODY_LIMIT_BYTES', async () => {
    const res = await send(bodyOfBytes(BODY_LIMIT_BYTES + 1), 'application/json')
    const body = expectErrorEnvelope(res, 413)
    expect(body.msg).toMatch(/BODY_LIMIT_BYTES|too large|larger/)
    expectNothingForwarded()
  })
})

describe("a model outside the tenant's models is refused with 403", () => {
  it.each(['Gemini-Omini', 'Omni-Flash-Ext', 'gemini-omni'])(
    'refuses %s to a tenant allowed only omni-10s',
    async (model) => {
      const res = await create({ model, prompt: 'a red kite' }, omniOnly.key)
      const body = expectErrorEnvelope(res, 403, '/model')
      expect(body.msg).toContain('Gemini-Omini')
      expectNothingForwarded()
    },
  )

  it('accepts omni-10s from a tenant allowed only omni-10s', async () => {
    expectForwardedOnce(await create({ model: 'omni-10s', prompt: 'a red kite' }, omniOnly.key))
  })

  it('refuses omni-10s to a tenant allowed only Gemini-Omini', async () => {
    const res = await create({ model: 'omni-10s', prompt: 'a red kite' }, standardOnly.key)
    const body = expectErrorEnvelope(res, 403, '/model')
    expect(body.msg).toContain('omni-10s')
    expectNothingForwarded()
  })

  it.each(['Gemini-Omini', 'Omni-Flash-Ext', 'gemini-omni'])(
    'accepts %s from a tenant allowed Gemini-Omini, aliases included',
    async (model) => {
      expectForwardedOnce(await create({ model, prompt: 'a red kite' }, standardOnly.key))
    },
  )

  it.each(['Gemini-Omini', 'omni-10s'])('accepts %s from a tenant without a models list', async (model) => {
    expectForwardedOnce(await create({ model, prompt: 'a red kite' }, open.key))
  })
})
