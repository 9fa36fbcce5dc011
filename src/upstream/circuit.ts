import { GatewayError } from '../errors.js'

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitOptions {
  /** Share of failures (transport errors, 5xx, timeouts) among recent calls above which the circuit opens, in %. */
  errorThresholdPercentage: number
  /** Calls needed in the rolling window before the circuit may open. */
  volumeThreshold: number
  /** How long the circuit stays open before one probe is let through. */
  resetTimeoutMs: number
  onChange(state: CircuitState): void
}

const WINDOW_BUCKETS = 10
const BUCKET_MS = 1000

/** Calls and failures of the last WINDOW_BUCKETS seconds, one bucket per second. */
class RollingWindow {
  private readonly seconds = new Array<number>(WINDOW_BUCKETS).fill(-1)
  private readonly calls = new Array<number>(WINDOW_BUCKETS).fill(0)
  private readonly failures = new Array<number>(WINDOW_BUCKETS).fill(0)

  add(failed: boolean, now: number): void {
    const second = Math.floor(now / BUCKET_MS)
    const i = second % WINDOW_BUCKETS
    if (this.seconds[i] !== second) {
      this.seconds[i] = second
      this.calls[i] = 0
      this.failures[i] = 0
    }
    this.calls[i] = (this.calls[i] as number) + 1
    if (failed) this.failures[i] = (this.failures[i] as number) + 1
  }

  totals(now: number): { calls: number; failures: number } {
    const oldest = Math.floor(now / BUCKET_MS) - WINDOW_BUCKETS
    let calls = 0
    let failures = 0
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      if ((this.seconds[i] as number) <= oldest) continue
      calls += this.calls[i] as number
      failures += this.failures[i] as number
    }
    return { calls, failures }
  }

  clear(): void {
    this.seconds.fill(-1)
  }
}

/**
 * Fails fast with 503 while the upstream is known to be down, and probes it again after a pause:
 * closed → (enough failures in the last 10 s) → open → (resetTimeoutMs) → half-open, where one
 * probe is let through; its success closes the circuit, its failure opens it again.
 *
 * Written here rather than taken from opossum: the breaker wraps every upstream call, and
 * opossum's events, promise wrapping and bucket timers per call were a measured share of the
 * polling path; this does one array update per call.
 */
export function createCircuit(options: CircuitOptions) {
  const window = new RollingWindow()
  let state: CircuitState = 'closed'
  let openedAt = 0
  let probeInFlight = false
  let timer: NodeJS.Timeout | undefined

  const moveTo = (next: CircuitState) => {
    if (next === state) return
    state = next
    options.onChange(next)
  }

  const open = () => {
    openedAt = Date.now()
    moveTo('open')
    clearTimeout(timer)
    timer = setTimeout(() => moveTo('half-open'), options.resetTimeoutMs)
    timer.unref()
  }

  const settle = (failed: boolean, probe: boolean) => {
    if (probe) {
      probeInFlight = false
      if (failed) return open()
      window.clear()
      return moveTo('closed')
    }
    // A call that began before the circuit opened says nothing new once it is open.
    if (state !== 'closed') return
    const now = Date.now()
    window.add(failed, now)
    if (!failed) return
    const { calls, failures } = window.totals(now)
    if (calls >= options.volumeThreshold && failures * 100 > options.errorThresholdPercentage * calls) open()
  }

  const refusal = () => {
    const waitMs = state === 'open' ? openedAt + options.resetTimeoutMs - Date.now() : 0
    return new GatewayError(
      503,
      '50302',
      'the upstream is failing; the gateway is not sending it requests for now',
      [],
      { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
    )
  }

  return {
    state: (): CircuitState => state,
    /**
     * Before a call: refuses it with 503 while open (or while the half-open probe is out), else lets it
     * go and says whether it is the probe. Two calls rather than a wrapper: no closure or extra promise
     * on every upstream call.
     */
    admit(): boolean {
      if (state === 'open' || (state === 'half-open' && probeInFlight)) throw refusal()
      const probe = state === 'half-open'
      if (probe) probeInFlight = true
      return probe
    },
    /** After an admitted call. An upstream 5xx is an answer to relay, and counts as a failure here. */
    record: settle,
    shutdown: () => clearTimeout(timer),
  }
}
