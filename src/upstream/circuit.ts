import CircuitBreaker from 'opossum'
import { GatewayError } from '../errors.js'
import type { UpstreamAnswer } from './client.js'

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitOptions {
  /** Failures (transport errors, 5xx, timeouts) out of the recent calls that open the circuit, in %. */
  errorThresholdPercentage: number
  /** Calls needed in the rolling window before the circuit may open. */
  volumeThreshold: number
  /** How long the circuit stays open before one probe is let through. */
  resetTimeoutMs: number
  onChange(state: CircuitState): void
}

/** An upstream 5xx is an answer, not an exception; inside the breaker it must count as a failure. */
class UpstreamServerError extends Error {
  constructor(readonly answer: UpstreamAnswer) {
    super(`upstream answered ${answer.status}`)
  }
}

/** Fails fast with 503 while the upstream is known to be down, and probes it again after a pause. */
export function createCircuit(options: CircuitOptions) {
  let openedAt = 0
  const breaker = new CircuitBreaker(
    async (call: () => Promise<UpstreamAnswer>) => {
      const answer = await call()
      if (answer.status >= 500) throw new UpstreamServerError(answer)
      return answer
    },
    {
      timeout: false,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      resetTimeout: options.resetTimeoutMs,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
    },
  )
  breaker.on('open', () => {
    openedAt = Date.now()
    options.onChange('open')
  })
  breaker.on('halfOpen', () => options.onChange('half-open'))
  breaker.on('close', () => options.onChange('closed'))

  const state = (): CircuitState => (breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed')

  return {
    state,
    async run(call: () => Promise<UpstreamAnswer>): Promise<UpstreamAnswer> {
      try {
        return await breaker.fire(call)
      } catch (err) {
        if (err instanceof UpstreamServerError) return err.answer
        if ((err as { code?: string }).code === 'EOPENBREAKER') {
          const waitS = Math.max(1, Math.ceil((openedAt + options.resetTimeoutMs - Date.now()) / 1000))
          throw new GatewayError(
            503,
            '50302',
            'the upstream is failing; the gateway is not sending it requests for now',
            [],
            {
              'retry-after': String(waitS),
            },
          )
        }
        throw err
      }
    },
    shutdown: () => breaker.shutdown(),
  }
}
