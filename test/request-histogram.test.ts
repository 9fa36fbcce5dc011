import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { RequestHistogram } from '../src/observability/request-histogram.js'

const BUCKETS = [0.005, 0.01, 0.1, 1]
const OBSERVATIONS: [number, string, string, string][] = [
  [0.001, 'GET', '/v1/videos/:taskId', '200'],
  [0.005, 'GET', '/v1/videos/:taskId', '200'],
  [0.02, 'GET', '/v1/videos/:taskId', '200'],
  [3, 'GET', '/v1/videos/:taskId', '200'],
  [0.05, 'POST', '/v1/gemini/omni/videos', '429'],
  [0.5, 'GET', '/v1/videos/:taskId', '404'],
]

describe('the per-request histogram', () => {
  it('exports exactly what prom-client’s own Histogram exports for the same observations', async () => {
    const ours = new Registry()
    const theirs = new Registry()
    const help = 'Time from request to response'
    const fast = new RequestHistogram('t_seconds', help, ['method', 'route', 'status'], BUCKETS, ours)
    const reference = new Histogram({
      name: 't_seconds',
      help,
      labelNames: ['method', 'route', 'status'],
      buckets: BUCKETS,
      registers: [theirs],
    })
    for (const [value, method, route, status] of OBSERVATIONS) {
      fast.observe(value, method, route, status)
      reference.observe({ method, route, status }, value)
    }
    const lines = async (r: Registry) => (await r.metrics()).split('\n').sort()
    expect(await lines(ours)).toEqual(await lines(theirs))
    expect(await ours.metrics()).toContain(
      't_seconds_bucket{le="0.01",method="GET",route="/v1/videos/:taskId",status="200"} 2',
    )
  })

  it('takes two labels, and starts over when the registry resets its metrics', async () => {
    const registry = new Registry()
    const histogram = new RequestHistogram(
      'u_seconds',
      'upstream',
      ['operation', 'outcome'],
      BUCKETS,
      registry,
    )
    histogram.observe(0.2, 'query', '200')
    expect(await registry.metrics()).toContain('u_seconds_count{operation="query",outcome="200"} 1')
    registry.resetMetrics()
    expect(await registry.metrics()).not.toContain('u_seconds_count')
  })
})
