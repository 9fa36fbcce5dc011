import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import { type CircuitState, createCircuit } from './circuit.js'
import { type CollectedAnswer, collect } from './collect-handler.js'
import { mapTransportError } from './map-error.js'
import { backoffMs, shouldRetry } from './retry.js'

export interface UpstreamAnswer {
  status: number
  /** Raw body text: relayed byte for byte when the answer is passed on. */
  text: string
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown
  retryAfter: string | undefined
  latencyMs: number
}

export type UpstreamOperation = 'create' | 'query'

export interface UpstreamClient {
  createTask(body: Record<string, unknown>, requestId: string): Promise<UpstreamAnswer>
  queryTask(taskId: string, requestId: string): Promise<UpstreamAnswer>
  circuitState(): CircuitState
  close(): Promise<void>
}

export interface UpstreamOptions {
  baseUrl: string
  apiKey: string
  /** The whole budget of one call, retries included. */
  timeoutMs: number
  connectTimeoutMs: number
  keepAliveMs: number
  connections: number
  queryRetries: number
  circuitResetMs: number
  /** Told about retries and circuit changes, for logs and metrics. */
  onRetry?(operation: UpstreamOperation, attempt: number, reason: string): void
  onCircuitChange?(state: CircuitState): void
}

export const USER_AGENT = 'omni-gateway/0.1'

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** One keep-alive undici Pool for the upstream origin; the server's token is added here and only here. */
export function createUpstreamClient(options: UpstreamOptions): UpstreamClient {
  const base = new URL(options.baseUrl)
  const prefix = base.pathname.replace(/\/+$/, '')
  const pool = new Pool(base.origin, {
    connections: options.connections,
    keepAliveTimeout: options.keepAliveMs,
    connectTimeout: Math.min(options.timeoutMs, options.connectTimeoutMs),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  })
  const authorization = `Bearer ${options.apiKey}`
  const circuit = createCircuit({
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeoutMs: options.circuitResetMs,
    onChange: (state) => options.onCircuitChange?.(state),
  })

  // Two literals rather than a conditional spread: this runs on every upstream call.
  const requestHeaders = (requestId: string, body: string | undefined) =>
    body === undefined
      ? { authorization, accept: 'application/json', 'user-agent': USER_AGENT, 'x-request-id': requestId }
      : {
          authorization,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          'x-request-id': requestId,
          'content-type': 'application/json',
        }

  /** One call through the circuit: refused at once while it is open, else counted as a success or a failure. */
  async function attempt(
    method: 'GET' | 'POST',
    path: string,
    requestId: string,
    deadline: number,
    retry: boolean,
    body?: string,
  ): Promise<UpstreamAnswer> {
    const probe = circuit.admit()
    const started = performance.now()
    // A first attempt has the whole budget, which is the pool's own timeout: undici then re-arms
    // the connection's one timer instead of making two per call (each lives ~1 s, so every one of
    // them was promoted to the old generation). A retry gets what is left of the budget.
    const remaining = retry ? Math.max(1, deadline - Date.now()) : undefined
    let res: CollectedAnswer
    try {
      res = await collect(pool, {
        method,
        path: prefix + path,
        headersTimeout: remaining,
        bodyTimeout: remaining,
        headers: requestHeaders(requestId, body),
        body,
      })
    } catch (err) {
      circuit.record(true, probe)
      throw mapTransportError(err, Date.now() >= deadline)
    }
    circuit.record(res.statusCode >= 500, probe)
    const retryAfter = res.headers['retry-after']
    return {
      status: res.statusCode,
      text: res.text,
      json: parseJson(res.text),
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      latencyMs: performance.now() - started,
    }
  }

  /** Attempts within one deadline, retrying only what `shouldRetry` allows. */
  async function call(
    operation: UpstreamOperation,
    method: 'GET' | 'POST',
    path: string,
    requestId: string,
    body?: string,
  ) {
    const deadline = Date.now() + options.timeoutMs
    const maxAttempts = operation === 'query' ? 1 + options.queryRetries : 2
    for (let n = 1; ; n++) {
      let outcome: { answer?: UpstreamAnswer; err?: unknown }
      try {
        const answer = await attempt(method, path, requestId, deadline, n > 1, body)
        // No rule repeats an answer below 500: the common case returns here.
        if (answer.status < 500) return answer
        outcome = { answer }
      } catch (err) {
        outcome = { err }
      }
      const wait = backoffMs(n)
      if (n >= maxAttempts || !shouldRetry(operation, outcome) || Date.now() + wait >= deadline) {
        if (outcome.answer) return outcome.answer
        throw outcome.err
      }
      options.onRetry?.(
        operation,
        n,
        outcome.answer ? `HTTP ${outcome.answer.status}` : String((outcome.err as Error).message),
      )
      await sleep(wait)
    }
  }

  return {
    createTask: (body, requestId) =>
      call('create', 'POST', '/v1/gemini/omni/videos', requestId, JSON.stringify(body)),
    queryTask: (taskId, requestId) =>
      call('query', 'GET', `/v1/videos/${encodeURIComponent(taskId)}`, requestId),
    circuitState: circuit.state,
    async close() {
      circuit.shutdown()
      await pool.close()
    },
  }
}
