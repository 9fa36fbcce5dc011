import autocannon, { type Client, type Request } from 'autocannon'
import type { LoadResult, LoadSpec } from './common.js'

/**
 * The load generator, run as a process of its own (pinned beside the simulator, away from the
 * process under test): `node load.js '<LoadSpec JSON>'` prints one LoadResult JSON line.
 */
const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec

let latencies = new Float64Array(1 << 16)
let count = 0
const statusCodes: Record<string, number> = {}

type Kind = LoadSpec['requests'][number]

// A request autocannon can build once (no setupRequest) costs the load generator far less per send.
const builtOnce = (r: Kind) => r.paths.length === 1 || r.perConnection === true || r.dealt === true

/** A kind not built once: one entry whose counter, shared by every connection, picks the path. */
function sharedCounterEntry(r: Kind): Request {
  let next = 0
  return {
    method: r.method,
    body: r.body,
    headers: r.headers,
    setupRequest: (request) => {
      request.path = r.paths[next++ % r.paths.length]
      return request
    },
  }
}
const sharedEntries = new Map(
  spec.requests.filter((r) => !builtOnce(r)).map((r) => [r, sharedCounterEntry(r)]),
)

/** Autocannon's entries for one kind; with `connection`, only that connection's share of dealt paths. */
function entriesOf(r: Kind, connection?: number): Request[] {
  const shared = sharedEntries.get(r)
  if (shared) return [{ ...shared }]
  const paths =
    r.dealt && connection !== undefined
      ? r.paths.filter((_, at) => at % spec.connections === connection)
      : r.paths
  return paths.map((path) => ({ method: r.method, body: r.body, headers: r.headers, path }))
}

const requests: Request[] = spec.requests.flatMap((r) => entriesOf(r))
const dealt = spec.requests.some((r) => r.dealt)
if (spec.requests.some((r) => r.dealt && r.paths.length < spec.connections))
  throw new Error('dealt paths need at least as many paths as connections')
let connectionsSetUp = 0

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
    ...(dealt
      ? {
          setupClient: (client: Client) => {
            const connection = connectionsSetUp++ % spec.connections
            client.setRequests(spec.requests.flatMap((r) => entriesOf(r, connection)))
          },
        }
      : {}),
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
