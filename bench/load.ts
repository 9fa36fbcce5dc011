import autocannon, { type Request } from 'autocannon'
import type { LoadResult, LoadSpec } from './common.js'

/**
 * The load generator, run as a process of its own (pinned beside the simulator, away from the
 * process under test): `node load.js '<LoadSpec JSON>'` prints one LoadResult JSON line.
 */
const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec

let latencies = new Float64Array(1 << 16)
let count = 0
const statusCodes: Record<string, number> = {}

// A request autocannon can build once (no setupRequest) costs the load generator far less per send.
const requests: Request[] = spec.requests.flatMap((r): Request[] => {
  const fixed = { method: r.method, body: r.body, headers: r.headers }
  if (r.paths.length === 1 || r.perConnection) return r.paths.map((path) => ({ ...fixed, path }))
  let next = 0
  const paths = r.paths
  return [
    {
      ...fixed,
      setupRequest: (request) => {
        request.path = paths[next++ % paths.length]
        return request
      },
    },
  ]
})

const cpuAtStart = process.cpuUsage()
const instance = autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    overallRate: spec.overallRate,
    timeout: spec.timeoutS ?? 10,
    headers: spec.headers,
    requests,
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`autocannon failed: ${err.message}\n`)
      process.exit(1)
    }
    const sorted = latencies.subarray(0, count).sort()
    const at = (q: number) =>
      count === 0 ? Number.NaN : (sorted[Math.min(count - 1, Math.floor(q * count))] ?? 0)
    let sum = 0
    for (const v of sorted) sum += v
    const non2xx = Object.entries(statusCodes)
      .filter(([code]) => !code.startsWith('2'))
      .reduce((n, [, c]) => n + c, 0)
    const out: LoadResult = {
      requests: count,
      durationS: result.duration,
      rps: count / result.duration,
      latencyMs: { mean: sum / Math.max(1, count), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx,
      statusCodes,
      cpuS: (() => {
        const used = process.cpuUsage(cpuAtStart)
        return (used.user + used.system) / 1e6
      })(),
    }
    process.stdout.write(`${JSON.stringify(out)}\n`)
  },
)

instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[count++] = responseTime
  const key = String(statusCode)
  statusCodes[key] = (statusCodes[key] ?? 0) + 1
})
