import type { FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.js'
import type { Metrics } from '../observability/metrics.js'
import type { UpstreamAnswer } from '../upstream/client.js'

declare module 'fastify' {
  interface FastifyRequest {
    upstreamMs: number | undefined
  }
}

/** Runs one upstream call, timing it for the request's log line and the metrics. */
export async function callUpstream(
  request: FastifyRequest,
  metrics: Metrics,
  operation: 'create' | 'query',
  call: () => Promise<UpstreamAnswer>,
): Promise<UpstreamAnswer> {
  const started = performance.now()
  try {
    const answer = await call()
    metrics.upstreamDuration.observe({ operation, outcome: String(answer.status) }, answer.latencyMs / 1000)
    return answer
  } catch (err) {
    const outcome = err instanceof GatewayError ? err.code : 'error'
    metrics.upstreamDuration.observe({ operation, outcome }, (performance.now() - started) / 1000)
    throw err
  } finally {
    request.upstreamMs = Math.round(performance.now() - started)
  }
}
