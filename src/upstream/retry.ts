import { GatewayError } from '../errors.js'
import type { UpstreamAnswer } from './client.js'

/** Errors that mean the request never left: nothing can have been billed, so even a create may go again. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

const RETRYABLE_STATUSES = new Set([502, 503, 504])

const causeCode = (err: unknown): string | undefined =>
  ((err instanceof GatewayError ? err.cause : err) as { code?: string } | undefined)?.code

export function failedToConnect(err: unknown): boolean {
  const code = causeCode(err)
  return code !== undefined && CONNECT_FAILURES.has(code)
}

/**
 * Queries are safe to repeat: a transport failure (but not a spent deadline) or a 502/503/504
 * goes again. A create goes again only when it never reached the upstream (a second create is a second bill).
 */
export function shouldRetry(
  operation: 'create' | 'query',
  outcome: { answer?: UpstreamAnswer; err?: unknown },
): boolean {
  if (outcome.answer) return operation === 'query' && RETRYABLE_STATUSES.has(outcome.answer.status)
  // Only a failed connection is worth another try: not a spent deadline, not an open circuit.
  if (!(outcome.err instanceof GatewayError) || outcome.err.code !== '50203') return false
  return operation === 'query' || failedToConnect(outcome.err)
}

/** Full-jitter exponential backoff: spreads the retries of many callers after one upstream hiccup. */
export function backoffMs(attempt: number, baseMs = 100, capMs = 1000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt)
}
