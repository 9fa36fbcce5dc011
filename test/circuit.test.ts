import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type CircuitState, createCircuit } from '../src/upstream/circuit.js'
import type { UpstreamAnswer } from '../src/upstream/client.js'

const answer = (status: number): UpstreamAnswer => ({
  status,
  text: '{}',
  json: {},
  retryAfter: undefined,
  latencyMs: 1,
})
const ok = () => Promise.resolve(answer(200))
const serverError = () => Promise.resolve(answer(500))
const reset = () => Promise.reject(new Error('socket hang up'))

/** As the upstream client calls through the circuit. */
async function run(
  circuit: ReturnType<typeof createCircuit>,
  call: () => Promise<UpstreamAnswer>,
): Promise<UpstreamAnswer> {
  const probe = circuit.admit()
  let answer: UpstreamAnswer
  try {
    answer = await call()
  } catch (err) {
    circuit.record(true, probe)
    throw err
  }
  circuit.record(answer.status >= 500, probe)
  return answer
}

describe('the upstream circuit breaker', () => {
  let changes: CircuitState[]
  let circuit: ReturnType<typeof createCircuit>
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 27, 12) })
    changes = []
    circuit = createCircuit({
      errorThresholdPercentage: 50,
      volumeThreshold: 4,
      resetTimeoutMs: 5000,
      onChange: (state) => changes.push(state),
    })
  })
  afterEach(() => {
    circuit.shutdown()
    vi.useRealTimers()
  })

  it('stays closed while failures are at most half of the recent calls', async () => {
    for (const call of [ok, serverError, ok, reset, ok, serverError])
      await run(circuit, call).catch(() => undefined)
    expect(circuit.state()).toBe('closed')
    expect(changes).toEqual([])
  })

  it('relays a 5xx answer as an answer while counting it as a failure', async () => {
    for (let i = 0; i < 3; i++) expect((await run(circuit, serverError)).status).toBe(500)
    expect(circuit.state()).toBe('closed')
    await expect(run(circuit, serverError)).resolves.toMatchObject({ status: 500 })
    expect(circuit.state()).toBe('open')
  })

  it('refuses every call with 503 and Retry-After while open, without calling', async () => {
    for (let i = 0; i < 4; i++) await run(circuit, reset).catch(() => undefined)
    const call = vi.fn(ok)
    await expect(run(circuit, call)).rejects.toMatchObject({
      status: 503,
      code: '50302',
      headers: { 'retry-after': '5' },
    })
    expect(call).not.toHaveBeenCalled()
  })

  it('lets one probe through when half-open: its failure opens again, its success closes', async () => {
    for (let i = 0; i < 4; i++) await run(circuit, reset).catch(() => undefined)
    vi.advanceTimersByTime(5000)
    expect(circuit.state()).toBe('half-open')
    await expect(run(circuit, reset)).rejects.toThrow('socket hang up')
    expect(circuit.state()).toBe('open')

    vi.advanceTimersByTime(5000)
    let finishProbe: (a: UpstreamAnswer) => void = () => undefined
    const probe = run(circuit, () => new Promise((resolve) => (finishProbe = resolve)))
    await expect(run(circuit, ok)).rejects.toMatchObject({ code: '50302' })
    finishProbe(answer(200))
    await probe
    expect(circuit.state()).toBe('closed')
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed'])
    await run(circuit, reset).catch(() => undefined)
    expect(circuit.state()).toBe('closed')
  })

  it('forgets failures older than its ten-second window', async () => {
    for (let i = 0; i < 3; i++) await run(circuit, reset).catch(() => undefined)
    vi.advanceTimersByTime(11_000)
    await run(circuit, reset).catch(() => undefined)
    expect(circuit.state()).toBe('closed')
  })
})
