import { fieldError } from '../../errors.js'
import { type CanonicalModel, canonicalModel } from '../../schemas/models.js'
import type { CreateVideoBody } from '../../schemas/videos.js'

/** What the gateway forwards and what it records about a create. */
export interface CreateOrder {
  upstreamBody: Record<string, unknown>
  model: CanonicalModel
  billableSeconds: number
  resolution: string
}

const DEFAULT_DURATION = 6
const REFERENCE_VIDEO_SECONDS = 10
const OMNI_10S_SECONDS = 10

/**
 * `http://` or `https://`, then the host (not another slash, backslash, `?` or `#`), then no white
 * space or control character anywhere: the WHATWG parser alone would also take `https:host/a.png`,
 * `http:/host`, `https:///host` or `https://\host` (empty authorities it repairs) or a URL padded
 * with spaces, and the upstream receives the string as sent, not the parser's repaired form.
 */
const ABSOLUTE_HTTP_URL = /^https?:\/\/[^\s\p{Cc}/\\?#][^\s\p{Cc}]*$/iu

/** White space as ECMAScript counts it (`\s`, with U+FEFF) and as Unicode does (adds U+0085, NEL). */
const BLANK = /^[\s\p{White_Space}]*$/u

function checkUrls(field: string, urls: string[] | undefined): void {
  urls?.forEach((raw, i) => {
    let ok = false
    try {
      const url = new URL(raw)
      ok =
        ABSOLUTE_HTTP_URL.test(raw) &&
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.hostname !== ''
    } catch {}
    if (!ok) throw fieldError(`/${field}/${i}`, 'must be an absolute http or https URL')
  })
}

function checkStandardModel(body: CreateVideoBody, images: string[], imagesField: string): void {
  const videos = body.video_urls ?? []
  if (body.generation_type === 'frame' && images.length !== 1) {
    throw fieldError(
      imagesField,
      `must hold exactly 1 image with generation_type "frame" (got ${images.length})`,
    )
  }
  if (body.generation_type !== 'frame' && ![0, 1, 3].includes(images.length)) {
    throw fieldError(
      imagesField,
      `must hold 0, 1 or 3 images with generation_type "reference" (got ${images.length})`,
    )
  }
  if (videos.length > 1) throw fieldError('/video_urls', `must hold at most 1 URL (got ${videos.length})`)
  if (videos.length > 0 && body.duration !== undefined) {
    throw fieldError('/duration', 'must not be sent together with a non-empty video_urls')
  }
}

function checkOmni10s(body: CreateVideoBody, images: string[], imagesField: string): void {
  if (images.length > 7)
    throw fieldError(imagesField, `must hold at most 7 URLs for omni-10s (got ${images.length})`)
  if ((body.video_urls ?? []).length > 0) {
    throw fieldError('/video_urls', 'is not supported by omni-10s; put reference videos in image_urls')
  }
  if (body.generation_type === 'frame')
    throw fieldError('/generation_type', 'must be "reference" for omni-10s')
}

/**
 * Applies the contract's cross-field rules (§5 step 2) to a body the schema already accepted,
 * and builds the body sent upstream: canonical model, `images` folded into `image_urls`,
 * omni-10s without the `duration` and `resolution` it ignores.
 */
export function normalizeCreateRequest(body: CreateVideoBody, maxPromptChars: number): CreateOrder {
  if (BLANK.test(body.prompt)) throw fieldError('/prompt', 'must not be blank')
  const promptChars = [...body.prompt].length
  if (promptChars > maxPromptChars) {
    throw fieldError('/prompt', `must be at most ${maxPromptChars} characters (got ${promptChars})`)
  }
  checkUrls('image_urls', body.image_urls)
  checkUrls('images', body.images)
  checkUrls('video_urls', body.video_urls)

  const model = canonicalModel(body.model)
  const imagesFromCompat = (body.image_urls ?? []).length === 0 && body.images !== undefined
  const images = imagesFromCompat ? (body.images ?? []) : (body.image_urls ?? [])
  const imagesField = imagesFromCompat ? '/images' : '/image_urls'
  const { images: _compat, ...rest } = body
  const upstreamBody: Record<string, unknown> = { ...rest, model }
  if (imagesFromCompat) upstreamBody.image_urls = images

  if (model === 'omni-10s') {
    checkOmni10s(body, images, imagesField)
    delete upstreamBody.duration
    delete upstreamBody.resolution
    return { upstreamBody, model, billableSeconds: OMNI_10S_SECONDS, resolution: '720p' }
  }
  checkStandardModel(body, images, imagesField)
  const withVideo = (body.video_urls ?? []).length > 0
  const billableSeconds = body.duration ?? (withVideo ? REFERENCE_VIDEO_SECONDS : DEFAULT_DURATION)
  return { upstreamBody, model, billableSeconds, resolution: body.resolution ?? '720p' }
}
