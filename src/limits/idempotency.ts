import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.js'
import type { IdempotencyBegin, LimitsStore } from '../store/types.js'

export const IDEMPOTENCY_KEEP_MS = 24 * 3_600_000
/** A first request that never finished (a crash) stops blocking its key after this margin. */
const PENDING_MARGIN_MS = 60_000

/** JSON with object keys sorted, so bodies equal after parsing hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export const bodyFingerprint = (body: unknown) =>
  createHash('sha256').update(canonicalJson(body)).digest('hex')

export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key']
  if (key === undefined) return undefined
  if (typeof key !== 'string' || key.length < 1 || key.length > 255) {
    throw new GatewayError(400, '40003', 'Idempotency-Key must be one header of 1 to 255 characters', [
      { field: 'header:Idempotency-Key', message: 'must be 1 to 255 characters' },
    ])
  }
  return key
}

/** Starts an idempotent create, or says how the key was used before (replay), or refuses (409, 422). */
export async function beginIdempotentCreate(
  store: LimitsStore,
  tenantId: string,
  key: string,
  body: unknown,
  now: number,
  upstreamTimeoutMs: number,
): Promise<Extract<IdempotencyBegin, { state: 'started' | 'replay' }>> {
  const begun = await store.beginIdempotent(tenantId, key, bodyFingerprint(body), {
    now,
    keepMs: IDEMPOTENCY_KEEP_MS,
    pendingMs: upstreamTimeoutMs + PENDING_MARGIN_MS,
  })
  if (begun.state === 'in-flight') {
    throw new GatewayError(
      409,
      '40901',
      'a create with this Idempotency-Key is still in flight; retry shortly',
      [],
      {
        'retry-after': '1',
      },
    )
  }
  if (begun.state === 'mismatch') {
    throw new GatewayError(
      422,
      '42201',
      'this Idempotency-Key was used with a different body in the last 24 h',
      [{ field: 'header:Idempotency-Key', message: 'was used with a different body' }],
    )
  }
  return begun
}
