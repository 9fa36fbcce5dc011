import { GatewayError } from '../errors.js'
import type { Metrics } from '../observability/metrics.js'
import type { UpstreamAnswer } from './client.js'

declare module 'fastify' {
  interface FastifyRequest {
    upstreamMs: number | undefined
  }
}

/** Who an upstream call is made for: a request, or a background job with its own id. */
export interface CallContext {
  id: string
  upstreamMs: number | undefined
}

/** Runs one upstream call, timing it for the request's log line and the metrics. */
export async function callUpstream(
  request: CallContext,
  metrics: Metrics,
  operation: 'create' | 'query',
  call: () => Promise<UpstreamAnswer>,
): Promise<UpstreamAnswer> {
  const started = performance.now()
  try {
    const answer = await call()
    metrics.upstreamDuration.observe(answer.latencyMs / 1000, operation, String(answer.status))
    return answer
  } catch (err) {
    const outcome = err instanceof GatewayError ? err.code : 'error'
    metrics.upstreamDuration.observe((performance.now() - started) / 1000, operation, outcome)
    throw err
  } finally {
    request.upstreamMs = Math.round(performance.now() - started)
  }
}
