export interface FieldIssue {
  field: string
  message: string
}

/** Every error the gateway itself answers with; mapped to the envelope in one place (app.ts). */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldIssue[] = [],
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'GatewayError'
  }
}

export const fieldError = (field: string, message: string) =>
  new GatewayError(400, '40001', `${fieldName(field)} ${message}`, [{ field, message }])

/** `/image_urls/2` reads better in a sentence as `image_urls[2]`. */
export function fieldName(pointer: string): string {
  const parts = pointer.split('/').filter(Boolean)
  if (parts.length === 0) return 'body'
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

interface FastifyLikeError {
  statusCode?: number
  code?: string
  message: string
  validation?: { instancePath: string; message?: string }[]
}

/**
 * A body of a million wrong items has a million schema errors; the first few name the fault, and
 * listing all would answer a 1 MiB request with tens of megabytes.
 */
const MAX_DETAILS = 20

/** Turns whatever was thrown (ours, Fastify's body/validation errors, bugs) into a GatewayError. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err
  const e = err as FastifyLikeError
  if (e.validation) {
    const details = e.validation.slice(0, MAX_DETAILS).map((v) => ({
      field: v.instancePath || '/',
      message: v.message ?? 'is invalid',
    }))
    const first = details[0] as FieldIssue
    return new GatewayError(400, '40001', `${fieldName(first.field)} ${first.message}`, details)
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError(413, '41301', 'request body is larger than BODY_LIMIT_BYTES allows')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError(415, '41501', 'Content-Type must be application/json')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError(400, '40002', 'request body is empty; a JSON object is required')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError(400, '40002', 'Content-Length does not match the body')
  }
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new GatewayError(400, '40002', 'request body is not valid JSON')
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new GatewayError(e.statusCode, `${e.statusCode}00`, e.message)
  }
  return new GatewayError(500, '50001', 'internal error', [], {}, { cause: err })
}

export interface ErrorEnvelope {
  code: string
  msg: string
  data: null
  request_id: string
  details: FieldIssue[]
}

export function envelope(e: GatewayError, requestId: string): ErrorEnvelope {
  return { code: e.code, msg: e.message, data: null, request_id: requestId, details: e.details }
}
