import { GatewayError } from '../errors.js'
import type { UpstreamAnswer } from './client.js'

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/** A request that got no usable answer: nothing arrived in time (504) or the connection failed (502). */
export function mapTransportError(err: unknown, deadlinePassed: boolean): GatewayError {
  const code = (err as { code?: string }).code
  if (deadlinePassed || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new GatewayError(
      504,
      '50401',
      'the upstream did not answer in time (UPSTREAM_TIMEOUT_MS)',
      [],
      {},
      { cause: err },
    )
  }
  return new GatewayError(502, '50203', 'the connection to the upstream failed', [], {}, { cause: err })
}

function retryAfterSeconds(header: string | undefined): string {
  const seconds = Number(header)
  return Number.isInteger(seconds) && seconds > 0 && seconds <= 3600 ? String(seconds) : '5'
}

/**
 * Decides what the caller sees of an upstream answer (contract §7). Returns normally when the
 * answer is relayed as is; throws the gateway's own error otherwise. Never mentions the token.
 */
export function checkRelayable(answer: UpstreamAnswer): void {
  const { status } = answer
  if (status === 401 || status === 403) {
    throw new GatewayError(
      502,
      '50201',
      'the upstream refused the gateway’s credentials; an operator must check them',
    )
  }
  if (status === 429) {
    throw new GatewayError(503, '50301', 'the upstream is rate limiting the gateway; retry later', [], {
      'retry-after': retryAfterSeconds(answer.retryAfter),
    })
  }
  if (status >= 500) throw new GatewayError(502, '50202', `the upstream failed (HTTP ${status})`)
  if (status < 200 || (status >= 300 && status < 400)) {
    throw new GatewayError(502, '50202', `the upstream answered an unexpected HTTP ${status}`)
  }
  if (answer.json === undefined || answer.json === null || typeof answer.json !== 'object') {
    throw new GatewayError(502, '50204', 'the upstream answered with a body that is not JSON')
  }
}

export interface AcceptedTask {
  task_id: string
  status?: unknown
  created_at?: unknown
}

/** The task in a relayable answer when the upstream really accepted it: 2xx, code "20000", a task id. */
export function acceptedTask(answer: UpstreamAnswer): AcceptedTask | undefined {
  if (answer.status < 200 || answer.status >= 300) return undefined
  const body = answer.json as { code?: unknown; data?: { task_id?: unknown } | null }
  if (body.code !== '20000') return undefined
  const taskId = body.data?.task_id
  if (typeof taskId !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(taskId)) {
    throw new GatewayError(502, '50205', 'the upstream reported success without a usable task_id')
  }
  return body.data as AcceptedTask
}
