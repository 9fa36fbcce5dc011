import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import { RequestHistogram } from './request-histogram.js'

export interface Metrics {
  registry: Registry
  /** Labels: method, route, status. */
  httpDuration: RequestHistogram
  /** Labels: operation, outcome. */
  upstreamDuration: RequestHistogram
  upstreamRetries: Counter<'operation'>
  circuitState: Gauge
  rejections: Counter<'tenant' | 'reason'>
  tasksCreated: Counter<'tenant' | 'model'>
  /** Counted on every query, so plain numbers; gateway_query_answers_total reads them when scraped. */
  queryAnswers: Record<QueryAnswerSource, number>
  webhookDeliveries: Counter<'outcome'>
}

export type QueryAnswerSource = 'upstream' | 'coalesced' | 'store'

/** 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const

/** One registry per app, so several gateways in one test process do not share counters. */
export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const queryAnswers: Record<QueryAnswerSource, number> = { upstream: 0, coalesced: 0, store: 0 }
  new Counter({
    name: 'gateway_query_answers_total',
    help: 'Status queries by where the answer came from: upstream, coalesced (shared call) or store',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [source, count] of Object.entries(queryAnswers)) this.inc({ source }, count)
    },
  })
  return {
    registry,
    httpDuration: new RequestHistogram(
      'gateway_http_request_duration_seconds',
      'Time from request to response, by route template and status',
      ['method', 'route', 'status'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registry,
    ),
    upstreamDuration: new RequestHistogram(
      'gateway_upstream_duration_seconds',
      'Time the upstream took to answer, by operation and outcome',
      ['operation', 'outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registry,
    ),
    upstreamRetries: new Counter({
      name: 'gateway_upstream_retries_total',
      help: 'Upstream calls repeated after a connection failure or a 502/503/504',
      labelNames: ['operation'],
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'gateway_upstream_circuit_state',
      help: 'Upstream circuit breaker: 0 closed, 1 half-open, 2 open',
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'gateway_rejections_total',
      help: 'Requests the gateway refused itself, by tenant and reason',
      labelNames: ['tenant', 'reason'],
      registers: [registry],
    }),
    tasksCreated: new Counter({
      name: 'gateway_tasks_created_total',
      help: 'Tasks the upstream accepted, by tenant and canonical model',
      labelNames: ['tenant', 'model'],
      registers: [registry],
    }),
    queryAnswers,
    webhookDeliveries: new Counter({
      name: 'gateway_webhook_deliveries_total',
      help: 'Webhook attempts by outcome: delivered (2xx), retry (failed, rescheduled) or dropped (given up)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  }
}

const REJECTION_REASONS: [RegExp, string][] = [
  [/^401/, 'auth'],
  [/^(400|413|415)/, 'validation'],
  [/^403/, 'forbidden'],
  [/^42901$/, 'rate'],
  [/^42902$/, 'concurrency'],
  [/^42903$/, 'quota'],
  [/^(409|422)/, 'idempotency'],
]

/** The reason label of a refusal the gateway made itself, or undefined for any other answer. */
export function rejectionReason(code: string | undefined): string | undefined {
  return code === undefined ? undefined : REJECTION_REASONS.find(([pattern]) => pattern.test(code))?.[1]
}
