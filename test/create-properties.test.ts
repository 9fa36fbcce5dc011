import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMutation, KNOWN_FIELDS, mutation, validBody, validUrl } from './helpers/arbitraries.js'
import { expectErrorEnvelope, REQUEST_ID_PATTERN } from './helpers/envelope.js'
import { bearer, makeTenant, startTestGateway, type TestGateway, type TestTenant } from './helpers/gateway.js'

/**
 * Contract §5 step 2 and §7, as properties: thousands of random and mutated create bodies never get
 * a 5xx, every refusal is the envelope, and the upstream sees a call exactly when the oracle below
 * (written from the contract, not from src/) says the body is valid.
 */

const MAX_PROMPT_CHARS = 8000 // contract default
const BODY_LIMIT_BYTES = 1_048_576 // contract default

const open = makeTenant('open')
const omniOnly = makeTenant('omni-only', { models: ['omni-10s'] })
const standardOnly = makeTenant('standard-only', { models: ['Gemini-Omini'] })
const TENANTS = { open, 'omni-only': omniOnly, 'standard-only': standardOnly }
const ROUTES = ['/v1/gemini/omni/videos', '/api/open-api/v1/gemini/omni/videos']

// ---------------------------------------------------------------- the oracle (contract §5 step 2)

const MODELS: unknown[] = ['Gemini-Omini', 'Omni-Flash-Ext', 'gemini-omni', 'omni-10s']
const FIELDS = new Set<string>(KNOWN_FIELDS)
/** White space: Unicode's White_Space property, plus U+FEFF, which ECMAScript also counts as white space. */
const BLANK = /^[\p{White_Space}\uFEFF]*$/u
const SPACE_OR_CONTROL = /[\p{White_Space}\uFEFF\p{Cc}]/u
/** Host names and IPv4 addresses in ASCII (the only hosts the generators write), with an optional port. */
const HOST_PORT = /^[A-Za-z0-9_.-]*[A-Za-z0-9][A-Za-z0-9_.-]*(?::(\d{1,5}))?$/

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || SPACE_OR_CONTROL.test(value)) return false
  const authority = /^https?:\/\/([^/?#\\]*)/i.exec(value)?.[1]
  const hostPort = authority === undefined ? null : HOST_PORT.exec(authority)
  return hostPort !== null && (hostPort[1] === undefined || Number(hostPort[1]) <= 65535)
}

const oneOf = (value: unknown, allowed: unknown[]) => value === undefined || allowed.includes(value)
const urlList = (value: unknown) => value === undefined || (Array.isArray(value) && value.every(isHttpUrl))

/** What the contract answers to a parsed body (size aside): 200, 400 (a rule refuses it) or 403 (model not allowed). */
function judge(body: unknown, tenant: TestTenant): 200 | 400 | 403 {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 400
  if (Object.keys(body).some((key) => !FIELDS.has(key))) return 400
  const b = body as Record<string, unknown>
  if (!MODELS.includes(b.model)) return 400
  if (typeof b.prompt !== 'string' || BLANK.test(b.prompt) || [...b.prompt].length > MAX_PROMPT_CHARS)
    return 400
  if (!oneOf(b.duration, [4, 6, 8, 10])) return 400
  if (!oneOf(b.resolution, ['720p', '1080p', '4k'])) return 400
  if (!oneOf(b.orientation, ['landscape', 'portrait'])) return 400
  if (!oneOf(b.generation_type, ['frame', 'reference'])) return 400
  const ratio = b.aspect_ratio
  if (
    ratio !== undefined &&
    !(ratio === '' || (typeof ratio === 'string' && /^[1-9]\d*:[1-9]\d*$/.test(ratio)))
  )
    return 400
  if (!urlList(b.image_urls) || !urlList(b.images) || !urlList(b.video_urls)) return 400

  const imageUrls = (b.image_urls ?? []) as string[]
  const used = (imageUrls.length === 0 && b.images !== undefined ? b.images : imageUrls) as string[]
  const videos = (b.video_urls ?? []) as string[]
  const canonical = b.model === 'omni-10s' ? 'omni-10s' : 'Gemini-Omini'
  if (canonical === 'omni-10s') {
    if (used.length > 7 || videos.length > 0 || b.generation_type === 'frame') return 400
  } else {
    if (b.generation_type === 'frame' ? used.length !== 1 : ![0, 1, 3].includes(used.length)) return 400
    if (videos.length > 1 || (videos.length > 0 && b.duration !== undefined)) return 400
  }
  const models = tenant.entry.models as string[] | undefined
  return models === undefined || models.includes(canonical) ? 200 : 403
}

/** The body the contract says goes upstream: canonical model, the used list as image_urls, omni-10s without duration/resolution. */
function forwarded(b: Record<string, unknown>): Record<string, unknown> {
  const { images, ...rest } = b
  const out: Record<string, unknown> = {
    ...rest,
    model: b.model === 'omni-10s' ? 'omni-10s' : 'Gemini-Omini',
  }
  if (images !== undefined && ((b.image_urls ?? []) as unknown[]).length === 0) out.image_urls = images
  if (out.model === 'omni-10s') {
    delete out.duration
    delete out.resolution
  }
  return out
}

/** secure-json-parse refuses these as "not JSON" (a 400 without details) before any rule is applied. */
function hasPoisonKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasPoisonKey)
  return Object.entries(value).some(
    ([k, v]) =>
      k === '__proto__' ||
      (k === 'constructor' && typeof v === 'object' && v !== null && 'prototype' in v) ||
      hasPoisonKey(v),
  )
}

function parse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

// ---------------------------------------------------------------- the gateway

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway({ tenants: Object.values(TENANTS) })
  expect(gw.config.maxPromptChars).toBe(MAX_PROMPT_CHARS)
  expect(gw.config.bodyLimitBytes).toBe(BODY_LIMIT_BYTES)
})
afterAll(async () => {
  await gw?.close()
})

interface Sent {
  tenant: 'open' | 'omni-only' | 'standard-only'
  route: string
  requestId: string | undefined
  contentType: string
}

const sent = fc.record({
  tenant: fc.constantFrom('open', 'omni-only', 'standard-only'),
  route: fc.constantFrom(...ROUTES),
  requestId: fc.option(
    fc.oneof(fc.stringMatching(REQUEST_ID_PATTERN), fc.string({ unit: 'grapheme-ascii', maxLength: 140 })),
    { nil: undefined },
  ),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
})
async function post(payload: string | Buffer, s: Sent) {
  if (gw.upstream.calls.length > 100) gw.upstream.calls.length = 0
  const before = gw.upstream.calls.length
  const res = await gw.app.inject({
    method: 'POST',
    url: s.route,
    headers: {
      ...bearer(TENANTS[s.tenant].key),
      'content-type': s.contentType,
      ...(s.requestId === undefined ? {} : { 'x-request-id': s.requestId }),
    },
    payload,
  })
  return { res, upstreamCalls: gw.upstream.calls.length - before }
}

/** The one check every case makes: the status the contract expects, the envelope on a refusal, the upstream iff 200. */
function expectAnswer(
  res: LightMyRequestResponse,
  upstreamCalls: number,
  expected: number,
  s: Sent,
  parsed: { ok: true; value: unknown } | { ok: false },
): void {
  const excerpt = res.body.slice(0, 300)
  expect(res.statusCode, excerpt).toBeLessThan(500)
  expect(res.statusCode, excerpt).toBe(expected)
  const id = res.headers['x-request-id']
  expect(id).toMatch(REQUEST_ID_PATTERN)
  if (s.requestId !== undefined && REQUEST_ID_PATTERN.test(s.requestId)) expect(id).toBe(s.requestId)
  if (expected === 200) {
    expect(res.json().code).toBe('20000')
    expect(upstreamCalls).toBe(1)
    const call = gw.upstream.calls.at(-1)
    expect(call?.operation).toBe('create')
    if (parsed.ok) expect(call?.body).toEqual(forwarded(parsed.value as Record<string, unknown>))
    return
  }
  const body = expectErrorEnvelope(res, expected)
  expect(upstreamCalls).toBe(0)
  // However large the body, the refusal stays small (a 1 MiB list of wrong items is not echoed item by item).
  expect(res.body.length, body.msg).toBeLessThan(16_384)
  // A rule that refuses a parsed JSON object names the field (contract §5 step 2).
  if (expected === 400 && parsed.ok && typeof parsed.value === 'object' && !hasPoisonKey(parsed.value)) {
    expect(body.details.length, body.msg).toBeGreaterThan(0)
    expect(body.details[0]?.field).toMatch(/^\//)
  }
}

/** The contract's answer to `text` sent as JSON: 413 over the limit, 400 if not JSON, else the oracle's. */
function expectedFor(text: string, tenant: TestTenant) {
  const parsed = parse(text)
  if (Buffer.byteLength(text) > BODY_LIMIT_BYTES) return { expected: 413, parsed }
  return { expected: parsed.ok ? judge(parsed.value, tenant) : 400, parsed }
}

async function checkText(text: string, s: Sent): Promise<void> {
  const { expected, parsed } = expectedFor(text, TENANTS[s.tenant])
  const { res, upstreamCalls } = await post(text, s)
  expectAnswer(res, upstreamCalls, expected, s, parsed)
}

// ---------------------------------------------------------------- properties

/** Per field, a value of the right shape now and then, so that some random bodies are valid. */
const PLAUSIBLE: Record<string, fc.Arbitrary<unknown>> = {
  model: fc.constantFrom(...MODELS),
  prompt: fc.string(),
  duration: fc.constantFrom(4, 6, 8, 10),
  resolution: fc.constantFrom('720p', '1080p', '4k'),
  aspect_ratio: fc.constantFrom('', '16:9', '9:16'),
  orientation: fc.constantFrom('landscape', 'portrait'),
  image_urls: fc.array(validUrl, { maxLength: 3 }),
  images: fc.array(validUrl, { maxLength: 3 }),
  generation_type: fc.constantFrom('frame', 'reference'),
  video_urls: fc.array(validUrl, { maxLength: 1 }),
}
const KNOWN_KEYS_ANY_VALUES = fc.record(
  Object.fromEntries(
    KNOWN_FIELDS.map((f) => [f, fc.oneof(fc.jsonValue({ maxDepth: 2 }), PLAUSIBLE[f] ?? fc.constant(null))]),
  ),
  { requiredKeys: [] },
)
const anyJsonText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.anything().map((v) => JSON.stringify(v) ?? 'null'),
  KNOWN_KEYS_ANY_VALUES.map((v) => JSON.stringify(v)),
  fc
    .tuple(fc.constantFrom(...MODELS), fc.jsonValue(), KNOWN_KEYS_ANY_VALUES)
    .map(([model, prompt, rest]) => JSON.stringify({ ...rest, model, prompt })),
)

const JSONISH = fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.eE+-truefalsn \\u\t\n') })
const rawBody = (limit: number) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'binary-ascii', maxLength: 200 }),
    JSONISH,
    validBody(MAX_PROMPT_CHARS)
      .map((b) => JSON.stringify(b))
      .chain((text) => fc.nat(text.length - 1).map((n) => text.slice(0, n))),
    fc
      .tuple(fc.string({ maxLength: 20 }), fc.integer({ min: 1, max: 64 }))
      .map(([junk, over]) => junk + 'x'.repeat(limit + over - Buffer.byteLength(junk))),
  )

describe('create bodies as properties (contract §5 step 2, §7)', () => {
  it('answers any JSON value without a 5xx, with the envelope, and calls the upstream only when it answers 200', async () => {
    await fc.assert(
      fc.asyncProperty(anyJsonText, sent, async (text, s) => {
        await checkText(text, s)
      }),
      { numRuns: 1000 },
    )
  }, 60_000)

  it('agrees with the contract on every mutation of a valid body: 200 and one upstream call iff valid', async () => {
    await fc.assert(
      fc.asyncProperty(validBody(MAX_PROMPT_CHARS), mutation(MAX_PROMPT_CHARS), sent, async (body, m, s) => {
        await checkText(applyMutation(body, m), s)
      }),
      { numRuns: 2000 },
    )
  }, 60_000)

  it('answers 400 or 413 to bytes that are not a create, and calls nothing upstream', async () => {
    await fc.assert(
      fc.asyncProperty(rawBody(BODY_LIMIT_BYTES), sent, async (payload, s) => {
        const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
        const { res, upstreamCalls } = await post(payload, s)
        expectAnswer(res, upstreamCalls, bytes > BODY_LIMIT_BYTES ? 413 : 400, s, { ok: false })
      }),
      { numRuns: 500 },
    )
  }, 60_000)

  it('accepts a valid body padded up to exactly BODY_LIMIT_BYTES and answers 413 one byte over', async () => {
    await fc.assert(
      fc.asyncProperty(
        validBody(MAX_PROMPT_CHARS),
        fc.integer({ min: -4, max: 4 }),
        sent,
        async (body, delta, s) => {
          const text = JSON.stringify(body)
          await checkText(text + ' '.repeat(BODY_LIMIT_BYTES + delta - Buffer.byteLength(text)), s)
        },
      ),
      { numRuns: 40 },
    )
  }, 60_000)
})
