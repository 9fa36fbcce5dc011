import { Pool } from 'undici'
import { mapTransportError } from './map-error.js'

export interface UpstreamAnswer {
  status: number
  /** Raw body text: relayed byte for byte when the answer is passed on. */
  text: string
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown
  retryAfter: string | undefined
  latencyMs: number
}

export interface UpstreamClient {
  createTask(body: Record<string, unknown>, requestId: string): Promise<UpstreamAnswer>
  queryTask(taskId: string, requestId: string): Promise<UpstreamAnswer>
  close(): Promise<void>
}

export interface UpstreamOptions {
  baseUrl: string
  apiKey: string
  timeoutMs: number
  connections: number
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
    keepAliveTimeout: 30_000,
    connectTimeout: Math.min(options.timeoutMs, 10_000),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  })
  const authorization = `Bearer ${options.apiKey}`

  async function call(method: 'GET' | 'POST', path: string, requestId: string, body?: string) {
    const started = performance.now()
    const signal = AbortSignal.timeout(options.timeoutMs)
    try {
      const res = await pool.request({
        method,
        path: prefix + path,
        signal,
        headers: {
          authorization,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          'x-request-id': requestId,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body,
      })
      const text = await res.body.text()
      const retryAfter = res.headers['retry-after']
      return {
        status: res.statusCode,
        text,
        json: parseJson(text),
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        latencyMs: performance.now() - started,
      }
    } catch (err) {
      throw mapTransportError(err, signal.aborted)
    }
  }

  return {
    createTask: (body, requestId) => call('POST', '/v1/gemini/omni/videos', requestId, JSON.stringify(body)),
    queryTask: (taskId, requestId) => call('GET', `/v1/videos/${encodeURIComponent(taskId)}`, requestId),
    close: () => pool.close(),
  }
}
