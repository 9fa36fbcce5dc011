import { rmSync } from 'node:fs'
import {
  coreBusy,
  coreTimes,
  detectPinning,
  envNumber,
  type LoadRequest,
  type LoadSpec,
  memoryOf,
  pinProcess,
  sleep,
  stopAll,
  stopChildrenOnExit,
} from './common.js'
import { machineMarkdown, writeSection } from './report.js'
import { CREATE_BODY, SCENARIOS } from './scenarios.js'
import {
  CREATE_PATH,
  compileBenchScripts,
  PREFIX,
  runLoad,
  startGateway,
  startSimulatorProcess,
  writeBenchTenant,
} from './targets.js'

/**
 * `npm run bench:soak`: the gateway under a fixed rate of mixed traffic for a minute, its memory
 * sampled every few seconds, to show that it stays flat. Writes the soak section of bench/RESULTS.md.
 */

const DURATION_S = envNumber('BENCH_SOAK_DURATION', 60)
const RATE = envNumber('BENCH_SOAK_RATE', 500)
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50)
const SAMPLE_S = envNumber('BENCH_SOAK_SAMPLE', 5)
/**
 * The same load, unmeasured, before the soak: V8 sizes its old generation over its first few full
 * collections (heap total 34 → 51 MB in the first ~40 s at this rate), which is growth to a steady
 * state, not a trend.
 */
const WARMUP_S = envNumber('BENCH_SOAK_WARMUP', 30)
/** Samples before this are left out of the trend. */
const SETTLE_S = envNumber('BENCH_SOAK_SETTLE', 10)

interface Sample {
  t: number
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  cpu: number
}

const log = (line: string) => process.stdout.write(`${line}\n`)

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0)
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  return num / den
}

async function main() {
  stopChildrenOnExit()
  log('compiling the bench processes…')
  compileBenchScripts()
  const pinning = detectPinning()
  const machine = machineMarkdown(pinning)
  const targetCpus = pinning.enabled ? pinning.target : undefined
  const driverCpus = pinning.enabled ? pinning.driver : undefined
  if (pinning.enabled && driverCpus) pinProcess(process.pid, driverCpus)
  const tenant = writeBenchTenant()
  const sim = await startSimulatorProcess(driverCpus)
  // Default settings (QUERY_FRESHNESS_MS 1000): polls of running tasks are partly answered from fresh copies.
  const gateway = await startGateway({ tenant, upstreamBaseUrl: sim.baseUrl, cpus: targetCpus })
  try {
    const scenario = (name: string) => SCENARIOS.find((s) => s.name === name) as (typeof SCENARIOS)[number]
    const [liveDealt] = await scenario('forward').prepare(gateway, sim)
    const [donePerConnection] = await scenario('completed').prepare(gateway, sim)
    if (!liveDealt || !donePerConnection) throw new Error('soak: no tasks prepared')
    // One entry in the mix per kind, not one per task: a connection's own list of tasks would make
    // these polls most of its requests instead of 4 in 10.
    const live: LoadRequest = { ...liveDealt, dealt: false }
    const done: LoadRequest = { ...donePerConnection, perConnection: false }
    const create: LoadRequest = {
      method: 'POST',
      paths: [CREATE_PATH],
      body: CREATE_BODY,
      headers: { 'content-type': 'application/json' },
    }
    const list: LoadRequest = { method: 'GET', paths: [`${PREFIX}/v1/videos?limit=20`] }
    // Per connection, in turn: 40 % polls of completed tasks, 40 % polls of running tasks, 10 % creates, 10 % listings.
    const requests = [done, live, done, live, create, done, live, done, live, list]
    const spec: LoadSpec = {
      url: gateway.url,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      overallRate: RATE,
      headers: { authorization: gateway.authorization },
      requests,
    }
    if (WARMUP_S > 0) {
      log(`warming up for ${WARMUP_S} s…`)
      await runLoad({ ...spec, durationS: WARMUP_S }, driverCpus)
    }
    await sim.reset()
    const samples: Sample[] = []
    const started = performance.now()
    const sample = async () => {
      const res = await fetch(`${gateway.url}/metrics`)
      const text = await res.text()
      const { rssMb } = memoryOf(gateway.child.pid)
      samples.push({
        t: (performance.now() - started) / 1000,
        rssMb,
        heapUsedMb: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
        heapTotalMb: metric(text, 'nodejs_heap_size_total_bytes') / 2 ** 20,
        cpu: metric(text, 'process_cpu_seconds_total'),
      })
      const s = samples[samples.length - 1] as Sample
      log(
        `t=${s.t.toFixed(0)}s rss ${s.rssMb.toFixed(1)} MB heap ${s.heapUsedMb.toFixed(1)}/${s.heapTotalMb.toFixed(1)} MB`,
      )
    }
    const coresBefore = coreTimes()
    await sample()
    const load = runLoad(spec, driverCpus)
    let finished = false
    void load.finally(() => {
      finished = true
    })
    while (!finished) {
      const next = started + samples.length * SAMPLE_S * 1000
      while (!finished && performance.now() < next) await sleep(100)
      if (!finished) await sample()
    }
    const result = await load
    const cores = coreBusy(coresBefore, coreTimes())
    await sample()
    const calls = await sim.stats()
    const peak = memoryOf(gateway.child.pid).peakMb

    const settled = samples.filter((s) => s.t >= SETTLE_S)
    const rssSlope = slope(settled.map((s) => [s.t / 60, s.rssMb]))
    const heapSlope = slope(settled.map((s) => [s.t / 60, s.heapUsedMb]))
    const first = settled[0]
    const last = settled[settled.length - 1]
    const growth = first && last ? last.rssMb - first.rssMb : Number.NaN
    // The lowest heap-used sample of a stretch approximates the live heap (what survives GC).
    const half = Math.floor(settled.length / 2)
    const lowest = (list: Sample[]) => Math.min(...list.map((s) => s.heapUsedMb))
    const liveGrowth = lowest(settled.slice(half)) - lowest(settled.slice(0, half))
    const flat = growth < 10 && liveGrowth < 5
    const errors = result.errors + result.non2xx
    const codes = Object.entries(result.statusCodes)
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ')

    const lines = [
      `## Soak of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      machine,
      `- Load: ${RATE} req/s for ${DURATION_S} s (after ${WARMUP_S} s of the same load, unmeasured) over ${CONNECTIONS} connections; each connection in turn sends 4 polls of completed tasks, 4 polls of running tasks, 1 create and 1 listing (40/40/10/10 %); gateway with default settings (QUERY_FRESHNESS_MS 1000), memory sampled every ${SAMPLE_S} s`,
      '',
      '| measured | value |',
      '|---|---|',
      `| requests | ${result.requests} (${result.rps.toFixed(0)} req/s achieved) |`,
      `| latency | p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms, max ${result.latencyMs.max.toFixed(1)} ms |`,
      `| errors | ${errors} (${codes}) |`,
      `| upstream calls / request | ${((calls.create + calls.query) / Math.max(1, result.requests)).toFixed(2)} (${calls.create} creates, ${calls.query} queries) |`,
      `| gateway peak RSS | ${peak.toFixed(0)} MB |`,
      `| RSS after ${SETTLE_S} s → end | ${first?.rssMb.toFixed(1)} → ${last?.rssMb.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB; trend ${rssSlope.toFixed(2)} MB/min) |`,
      `| heap used trend | ${heapSlope.toFixed(2)} MB/min (samples catch the GC sawtooth anywhere) |`,
      `| live heap (lowest heap used), first → second half | ${lowest(settled.slice(0, half)).toFixed(1)} → ${lowest(settled.slice(half)).toFixed(1)} MB |`,
      `| CPU busy | ${cores.map((c, i) => `CPU ${i} ${(c * 100).toFixed(0)} %`).join(', ')} |`,
      `| memory flat | ${flat ? 'yes' : '**no**'} (after the first ${SETTLE_S} s: RSS grew less than 10 MB and the live heap less than 5 MB) |`,
      '',
      '| t s | RSS MB | heap used MB | heap total MB | gateway CPU s |',
      '|---:|---:|---:|---:|---:|',
      ...samples.map(
        (s) =>
          `| ${s.t.toFixed(0)} | ${s.rssMb.toFixed(1)} | ${s.heapUsedMb.toFixed(1)} | ${s.heapTotalMb.toFixed(1)} | ${s.cpu.toFixed(1)} |`,
      ),
    ]
    writeSection('soak', lines.join('\n'))
    log(
      `memory flat: ${flat ? 'yes' : 'NO'} (RSS ${growth.toFixed(1)} MB, ${rssSlope.toFixed(2)} MB/min); errors ${errors}`,
    )
    log('wrote the soak section of bench/RESULTS.md')
  } finally {
    await gateway.stop()
    await sim.stop()
    await stopAll()
    rmSync(tenant.dir, { recursive: true, force: true })
  }
}

main().catch(async (err) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? err}\n`)
  await stopAll()
  process.exit(1)
})
