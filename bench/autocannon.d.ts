/** The little of autocannon's API the bench uses (the package ships no types). */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface RequestData {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
  }

  export interface Request extends RequestData {
    setupRequest?: (request: RequestData, context: Record<string, unknown>) => RequestData
  }

  /** One connection, as given to setupClient. */
  export interface Client {
    setRequests(requests: Request[]): void
  }

  export interface Options {
    url: string
    connections?: number
    duration?: number
    overallRate?: number
    timeout?: number
    headers?: Record<string, string>
    requests?: Request[]
    setupClient?: (client: Client) => void
  }

  export interface Result {
    requests: { total: number; average: number }
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    statusCodeStats: Record<string, { count: number }>
  }

  export interface Instance extends EventEmitter {
    stop(): void
  }

  function autocannon(options: Options, callback: (err: Error | null, result: Result) => void): Instance
  export default autocannon
}
