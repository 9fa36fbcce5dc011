import fc from 'fast-check'

/**
 * Generators for the create path's property tests (contract §5 step 2): valid bodies of both
 * models, the mutations applied to them, and the odd strings, numbers and URLs they use.
 * Everything here only builds inputs; whether an input is valid is decided by the test's oracle.
 */

export type Body = Record<string, unknown>

export const STANDARD_MODELS = ['Gemini-Omini', 'Omni-Flash-Ext', 'gemini-omni'] as const
/** Every field of a create body (contract §5, upstream API). */
export const KNOWN_FIELDS = [
  ...['model', 'prompt', 'duration', 'resolution', 'aspect_ratio', 'orientation'],
  ...['image_urls', 'images', 'generation_type', 'video_urls'],
]
const URL_FIELDS = ['image_urls', 'images', 'video_urls'] as const
const STRING_FIELDS = ['model', 'prompt', 'resolution', 'aspect_ratio', 'orientation', 'generation_type']

const chars = (s: string) => fc.constantFrom(...s)
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 })

/** Code points the oracle counts as white space: Unicode White_Space, plus U+FEFF (ECMAScript's). */
export const WHITE_SPACE = [
  ...' \t\n\r\u000b\u000c\u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff',
  ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
]
/** Invisible or direction-changing, but not white space: a prompt of these is not blank. */
const INVISIBLE = [...'\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\u2060\u180e\u00ad\u034f']
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
const oddChar = fc.oneof(
  fc.constantFrom(
    ...WHITE_SPACE,
    ...INVISIBLE,
    '\u0000',
    '\u007f',
    '🪁',
    '👩‍👩‍👧',
    '🇨🇳',
    'e\u0301',
    'ا',
    '\ufffd',
  ),
  loneSurrogate,
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
)

// ---------------------------------------------------------------- URLs

const label = fc.string({ unit: chars('abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 12 })
const host = fc.oneof(
  fc
    .tuple(
      fc.array(label, { minLength: 1, maxLength: 3 }),
      fc.constantFrom('com', 'net', 'io', 'cn', 'example'),
    )
    .map(([labels, tld]) => [...labels, tld].join('.')),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.')),
  fc.constantFrom('localhost', 'CDN.Example.COM', 'a-b.example.com'),
)
const pathChar = fc.oneof(
  { weight: 6, arbitrary: chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/%') },
  { weight: 2, arbitrary: chars('!$&\'()*+,;=:@?#[]{}|\\^`"<>') },
  { weight: 1, arbitrary: fc.constantFrom('é', '🪁', 'ا', '\u200f', '\u202e', '\u200b', '\ufffd') },
  { weight: 1, arbitrary: loneSurrogate },
)

/** Absolute http(s) URLs: ASCII host names or IPv4, optional port, any non-space path. */
export const validUrl = fc
  .tuple(
    fc.constantFrom('http', 'https', 'HTTPS', 'Http'),
    host,
    opt(fc.integer({ min: 1, max: 65535 })),
    opt(fc.string({ unit: pathChar, maxLength: 40 })),
  )
  .map(
    ([scheme, h, port, path]) =>
      `${scheme}://${h}${port === undefined ? '' : `:${port}`}${path === undefined ? '' : `/${path}`}`,
  )

const BAD_URLS = [
  '',
  'ftp://cdn.example.com/a.png',
  'ws://cdn.example.com/clip.mp4',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:image/png;base64,iVBORw0KGgo=',
  'mailto:a@example.com',
  '/refs/b.png',
  'refs/b.png',
  'cdn.example.com/a.png',
  '//cdn.example.com/a.png',
  'https://',
  'http://',
  'https:///a.png',
  'https:cdn.example.com/a.png',
  'http:/cdn.example.com/a.png',
  'https://cdn.example.com:99999/a.png',
  'https://exa mple.com/a.png',
  'https ://cdn.example.com/a.png',
  'http://[::1/a.png',
  'https:///cdn.example.com/a.png',
  'http:////cdn.example.com/a.png',
  'https://\\cdn.example.com/a.png',
  'https:\\\\cdn.example.com/a.png',
  'https://?a.png',
  'https://#a.png',
]
/** Strings that are not absolute http(s) URLs: fixed cases, and valid URLs with white space or a control code put in. */
export const badUrl = fc.oneof(
  fc.constantFrom(...BAD_URLS),
  fc
    .tuple(
      validUrl,
      fc.constantFrom(...WHITE_SPACE, '\u0000', '\u0001', '\u001f', '\u007f', '\u009f'),
      fc.nat(),
    )
    .map(([url, c, at]) => {
      const i = at % (url.length + 1)
      return url.slice(0, i) + c + url.slice(i)
    }),
)

// ---------------------------------------------------------------- valid bodies

const nonBlank = (s: string) => [...s].some((c) => !WHITE_SPACE.includes(c))

/** Non-blank prompts up to `max` code points: ordinary text, odd Unicode, and lengths at the limit. */
export function validPrompt(max: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }) },
      { weight: 2, arbitrary: fc.string({ unit: oddChar, minLength: 1, maxLength: 40 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom('x', '🪁', 'é', 'ا', '\u200f', '\ud800', '\u0000'),
            fc.integer({ min: max - 2, max }),
          )
          .map(([c, n]) => c.repeat(n)),
      },
    )
    .filter((p) => nonBlank(p) && [...p].length <= max)
}

const validAspect = fc.oneof(
  fc.constantFrom('', '16:9', '9:16', '1:1', '21:9', '4:3', '1920:1080'),
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 99 }))
    .map(([w, h]) => `${w}:${h}`),
)
const common = {
  resolution: opt(fc.constantFrom('720p', '1080p', '4k')),
  aspect_ratio: opt(validAspect),
  orientation: opt(fc.constantFrom('landscape', 'portrait')),
}
const duration = opt(fc.constantFrom(4, 6, 8, 10))
const urls = (n: number) => fc.array(validUrl, { minLength: n, maxLength: n })
/** How the list the gateway uses is sent: as image_urls, as images (image_urls absent or []), or both. */
const placement = fc.constantFrom('image_urls', 'images', 'images+empty', 'both', 'omitted')

function placeImages(body: Body, used: string[], how: string, unused: string[]): Body {
  if (how === 'omitted' && used.length === 0) return body
  if (how === 'images') return { ...body, images: used }
  if (how === 'images+empty') return { ...body, image_urls: [], images: used }
  if (how === 'both' && used.length > 0) return { ...body, image_urls: used, images: unused }
  return { ...body, image_urls: used }
}

const dropUndefined = (body: Body): Body =>
  Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined))

const standardBody = (max: number) =>
  fc
    .record({
      model: fc.constantFrom(...STANDARD_MODELS),
      prompt: validPrompt(max),
      duration,
      ...common,
      generation_type: opt(fc.constantFrom('frame', 'reference')),
      count: fc.constantFrom(0, 1, 3),
      how: placement,
      unused: fc.array(validUrl, { maxLength: 5 }),
      video: fc.constantFrom('absent', 'empty', 'one'),
    })
    .chain(({ count, how, unused, video, ...rest }) => {
      const n = rest.generation_type === 'frame' ? 1 : count
      return fc.tuple(urls(n), validUrl).map(([used, clip]) => {
        let body: Body = dropUndefined(rest)
        if (video === 'empty') body.video_urls = []
        if (video === 'one') {
          body.video_urls = [clip]
          delete body.duration
        }
        body = placeImages(body, used, how, unused)
        return body
      })
    })

const omni10sBody = (max: number) =>
  fc
    .record({
      model: fc.constant('omni-10s'),
      prompt: validPrompt(max),
      duration,
      ...common,
      generation_type: opt(fc.constant('reference')),
      used: fc.array(validUrl, { maxLength: 7 }),
      how: placement,
      unused: fc.array(validUrl, { maxLength: 5 }),
      emptyVideos: fc.boolean(),
    })
    .map(({ used, how, unused, emptyVideos, ...rest }) => {
      const body = placeImages(dropUndefined(rest), used, how, unused)
      return emptyVideos ? { ...body, video_urls: [] } : body
    })

/** Bodies every rule of contract §5 step 2 accepts, for either model, every field and both image fields. */
export const validBody = (max: number): fc.Arbitrary<Body> => fc.oneof(standardBody(max), omni10sBody(max))

// ---------------------------------------------------------------- mutations

const NEAR_DURATIONS = [0, -1, 3, 4, 5, 6, 8, 10, 11, 6.5, -0, 4.000000000000001]
const BOUNDARY_NUMBERS = [...NEAR_DURATIONS, 1e308, -1e308, 5e-324, 2 ** 53 + 2]
/** Number spellings JSON.stringify never writes; JSON.parse reads some of them as 4, 10 or Infinity. */
const NUMBER_SPELLINGS = '4.0 4e0 40e-1 0.4E1 -0 1e400 -1e400 10.0000000000000001 6.00001 1E1'.split(' ')
const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...BOUNDARY_NUMBERS, 'NaN', 'Infinity', '6', '4', '1e308', true, false, null, '', [], {}),
  fc.constantFrom({ $ne: null }, ['Gemini-Omini'], { model: 'Gemini-Omini' }, [[[]]], {
    url: 'https://a.com/x.png',
  }),
  fc.jsonValue({ maxDepth: 3 }),
)
const HUGE_LENGTHS = [10_000, 17, 16, 8, 7, 4, 3, 2]
const TYPOS = ['durration', 'image_url', 'Model', 'prompt ', 'callback_url', 'seed', 'negative_prompt', '']
const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype']

const spicyString = fc.oneof(
  fc.string({ unit: oddChar, maxLength: 12 }),
  fc.constantFrom(
    'GEMINI-OMINI',
    ' omni-10s',
    'omni-10s\u200b',
    'Gemini-Omini\u0000',
    'gemini_omni',
    'veo-3',
  ),
  fc.constantFrom('4K', '4k ', '720P', '1080p\u0000', 'Portrait', 'portrait\u200b', 'first_frame', 'Frame'),
  fc.constantFrom(
    ...'0:9 16:0 100000:1 1:99999 01:1 1:1:1 １６:９ 16∶9 -1:1 1.0:1 16/9 1e3:1 +1:1 0x10:9 :'.split(' '),
  ),
  fc.constantFrom(' 16:9', '16:9\n', '16:9 ', '16 :9'),
)

export type Mutation =
  | { kind: 'none' }
  | { kind: 'drop'; field: string }
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'unknown'; field: string; value: unknown }
  | { kind: 'huge'; field: string; length: number; fill: string }
  | { kind: 'spelling'; field: string; spelling: string }
  | { kind: 'duplicate'; field: string; value: unknown }
  | { kind: 'url'; field: string; at: number; url: string }
  | { kind: 'count'; field: string; delta: number; url: string }

const knownField = fc.constantFrom(...KNOWN_FIELDS)
const urlField = fc.constantFrom(...URL_FIELDS)
const anyValue = fc.oneof(
  junkValue,
  spicyString,
  validUrl.map((u) => [u]),
  fc.constantFrom(...BOUNDARY_NUMBERS),
)
const hugePrompt = (max: number) =>
  fc
    .tuple(fc.constantFrom('x', '🪁', '\ud800', ' ', 'é'), fc.constantFrom(max + 1, max * 10, 200_000))
    .map(([c, n]) => c.repeat(n))
const blankPrompt = fc.string({ unit: fc.constantFrom(...WHITE_SPACE), maxLength: 20 })

/** One mutation of a valid body; the oracle decides whether the result is still valid. */
export function mutation(max: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.constant({ kind: 'none' as const }),
    knownField.map((field) => ({ kind: 'drop' as const, field })),
    fc.record({ kind: fc.constant('set' as const), field: knownField, value: anyValue }),
    fc.record({
      kind: fc.constant('set' as const),
      field: fc.constant('prompt'),
      value: fc.oneof(
        hugePrompt(max),
        blankPrompt,
        fc.string({ unit: oddChar, maxLength: 30 }),
        validPrompt(max),
      ),
    }),
    fc.record({
      kind: fc.constant('set' as const),
      field: fc.constantFrom(...STRING_FIELDS),
      value: fc.oneof(spicyString, junkValue),
    }),
    fc.record({
      kind: fc.constant('unknown' as const),
      field: fc.oneof(fc.constantFrom(...TYPOS, ...PROTO_KEYS), fc.string({ unit: oddChar, maxLength: 8 })),
      value: junkValue,
    }),
    fc.record({
      kind: fc.constant('huge' as const),
      field: fc.constantFrom(...URL_FIELDS, 'prompt', 'model', 'duration'),
      length: fc.constantFrom(...HUGE_LENGTHS),
      fill: fc.constantFrom('same-url', 'distinct-urls', 'numbers', 'empty-strings', 'nested', 'mixed'),
    }),
    fc.record({
      kind: fc.constant('spelling' as const),
      field: fc.constantFrom('duration', 'duration', 'prompt', 'image_urls'),
      spelling: fc.constantFrom(...NUMBER_SPELLINGS),
    }),
    fc.record({ kind: fc.constant('duplicate' as const), field: knownField, value: anyValue }),
    fc.record({ kind: fc.constant('url' as const), field: urlField, at: fc.nat(7), url: badUrl }),
    fc.record({
      kind: fc.constant('count' as const),
      field: urlField,
      delta: fc.constantFrom(-1, 1, 2),
      url: validUrl,
    }),
  )
}

function hugeArray(length: number, fill: string): unknown[] {
  return Array.from({ length }, (_, i) => {
    switch (fill) {
      case 'same-url':
        return 'https://cdn.example.com/refs/a.png'
      case 'distinct-urls':
        return `https://cdn${i % 7}.example.com/refs/${i}.png`
      case 'numbers':
        return i
      case 'empty-strings':
        return ''
      case 'nested':
        return [[{ i }]]
      default:
        return [i, `https://cdn.example.com/${i}.png`, null, '', { a: i }][i % 5]
    }
  })
}

const PLACEHOLDER = '\u0001spelling\u0001'

/** The JSON text sent for `body` after `m`: some mutations (spellings, duplicate keys, `__proto__`) exist only as text. */
export function applyMutation(body: Body, m: Mutation): string {
  const out: Body = { ...body }
  switch (m.kind) {
    case 'none':
      return JSON.stringify(out)
    case 'drop':
      delete out[m.field]
      return JSON.stringify(out)
    case 'set':
      out[m.field] = m.value
      return JSON.stringify(out)
    case 'huge':
      out[m.field] = hugeArray(m.length, m.fill)
      return JSON.stringify(out)
    case 'unknown':
    case 'duplicate': {
      // Written as text: a `__proto__` key must reach the gateway as a key, and a duplicate key as a duplicate.
      const member = `${JSON.stringify(m.field)}:${JSON.stringify(m.value) ?? 'null'}`
      const text = JSON.stringify(out)
      return text === '{}' ? `{${member}}` : `${text.slice(0, -1)},${member}}`
    }
    case 'spelling':
      out[m.field] = m.field === 'image_urls' ? [PLACEHOLDER] : PLACEHOLDER
      return JSON.stringify(out).replace(JSON.stringify(PLACEHOLDER), m.spelling)
    case 'url': {
      const list = Array.isArray(out[m.field]) ? [...(out[m.field] as unknown[])] : []
      list[Math.min(m.at, list.length)] = m.url
      out[m.field] = list
      return JSON.stringify(out)
    }
    case 'count': {
      const list = Array.isArray(out[m.field]) ? [...(out[m.field] as unknown[])] : []
      if (m.delta < 0) list.pop()
      else for (let i = 0; i < m.delta; i++) list.push(m.url)
      out[m.field] = list
      return JSON.stringify(out)
    }
  }
}
