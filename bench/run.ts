import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  coreBusy,
  coreTimes,
  cpuSecondsOf,
  detectPinning,
  envNumber,
  type LoadSpec,
  median,
  memoryOf,
  pinProcess,
  sleep,
  stopAll,
  stopChildrenOnExit,
} from './common.js'
import { profileMarkdown, summarizeProfile } from './profile.js'
import { machineMarkdown, writeSection } from './report.js'
import { SCENARIOS, type Scenario, type ScenarioName, TASK_POOL } from './scenarios.js'
import {
  type BenchTenant,
  compileBenchScripts,
  type RunningTarget,
  runLoad,
  type SimulatorProcess,
  startBareProxy,
  startGateway,
  startSimulatorProcess,
  startSimulatorTarget,
  TARGET_KINDS,
  type TargetKind,
  writeBenchTenant,
} from './targets.js'

/**
 * `npm run bench`: each scenario against each target, one target at a time, each on a fresh process
 * (so its peak RSS is its own), BENCH_RUNS times; writes the medians to bench/RESULTS.md.
 */

const DURATION_S = envNumber('BENCH_DURATION', 10)
const WARMUP_S = envNumber('BENCH_WARMUP', 3)
const RUNS = envNumber('BENCH_RUNS', 3)
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50)
const WRITE = process.env.BENCH_WRITE !== '0'
const PROFILE = process.env.BENCH_PROFILE ?? 'auto'
const scenarios = SCENARIOS.filter((s) => (process.env.BENCH_SCENARIOS ?? s.name).split(',').includes(s.name))
const targets = TARGET_KINDS.filter((t) => (process.env.BENCH_TARGETS ?? t).split(',').includes(t))

/** Other jobs on the machine skew the numbers: wait for quiet first, and redo a measurement they disturbed. */
const MAX_FOREIGN = envNumber('BENCH_MAX_FOREIGN_CPU', 0.15)
const RETRIES = Number(process.env.BENCH_RETRIES ?? 2)
let quietBudgetMs = envNumber('BENCH_QUIET_BUDGET', 240) * 1000

const pinning = detectPinning()
const targetCpus = pinning.enabled ? pinning.target : undefined
const driverCpus = pinning.enabled ? pinning.driver : undefined

interface Measurement {
  scenario: ScenarioName
  target: TargetKind
  run: number
  rps: number
  p50: number
  p99: number
  errors: number
  statusCodes: Record<string, number>
  /** Upstream (simulator) calls per answered request; NaN for the simulator itself. */
  callsPerRequest: number
  peakRssMb: number
  /** CPU time the process under test used per answered request. */
  cpuUsPerRequest: number
  /** Fraction of one core the process under test used. */
  targetCpu: number
  /** How busy the load generator's core was (the simulator shares it). */
  driverCoreBusy: number
  /** Share of a core the load generator and the backing simulator used. */
  loadCpu: number
  simCpu: number
  /** Cores' worth of CPU used by processes that are not the bench's: interference. */
  foreignCpu: number
  /** When the measured load ran, in µs of the monotonic clock (to cut a CPU profile to it). */
  window: { fromUs: number; toUs: number }
}

const log = (line: string) => process.stdout.write(`${line}\n`)

async function startTarget(
  kind: TargetKind,
  scenario: Scenario,
  tenant: BenchTenant,
  sim: SimulatorProcess | undefined,
  nodeArgs?: string[],
): Promise<RunningTarget> {
  if (kind === 'simulator') return startSimulatorTarget(targetCpus)
  if (!sim) throw new Error('a backing simulator is needed')
  if (kind === 'proxy') return startBareProxy(sim.url, targetCpus)
  return startGateway({
    tenant,
    upstreamBaseUrl: sim.baseUrl,
    cpus: targetCpus,
    env: scenario.gatewayEnv,
    nodeArgs,
  })
}

/** One scenario against one fresh target: prepare, warm up, measure. */
async function measure(
  scenario: Scenario,
  kind: TargetKind,
  run: number,
  tenant: BenchTenant,
  nodeArgs?: string[],
): Promise<Measurement> {
  const sim = kind === 'simulator' ? undefined : await startSimulatorProcess(driverCpus)
  let target: RunningTarget | undefined
  try {
    target = await startTarget(kind, scenario, tenant, sim, nodeArgs)
    const backing = sim ?? target.self
    if (!backing) throw new Error('no simulator to count upstream calls')
    const requests = await scenario.prepare(target, backing)
    const spec: LoadSpec = {
      url: target.url,
      connections: CONNECTIONS,
      durationS: WARMUP_S,
      headers: { authorization: target.authorization },
      requests,
    }
    await runLoad(spec, driverCpus)
    await backing.reset()
    const cpuBefore = cpuSecondsOf(target.child.pid)
    const simBefore = sim ? cpuSecondsOf(sim.child.pid) : 0
    const selfBefore = process.cpuUsage()
    const coresBefore = coreTimes()
    const fromUs = Number(process.hrtime.bigint() / 1000n)
    const result = await runLoad({ ...spec, durationS: DURATION_S }, driverCpus)
    const toUs = Number(process.hrtime.bigint() / 1000n)
    const wall = (toUs - fromUs) / 1e6
    const cores = coreBusy(coresBefore, coreTimes())
    const cpu = cpuSecondsOf(target.child.pid) - cpuBefore
    const simCpu = sim ? cpuSecondsOf(sim.child.pid) - simBefore : 0
    const self = process.cpuUsage(selfBefore)
    const calls = await backing.stats()
    const driverBusy = driverCpus === undefined ? median(cores) : (cores[Number(driverCpus)] ?? Number.NaN)
    // Whatever else ran on the machine meanwhile (other jobs make the numbers noisy).
    const allBusy = cores.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) * wall
    const ours = cpu + simCpu + result.cpuS + (self.user + self.system) / 1e6
    const foreignCpu = Math.max(0, allBusy - ours) / wall
    return {
      scenario: scenario.name,
      target: kind,
      run,
      rps: result.rps,
      p50: result.latencyMs.p50,
      p99: result.latencyMs.p99,
      errors: result.errors + result.non2xx,
      statusCodes: result.statusCodes,
      callsPerRequest:
        kind === 'simulator' ? Number.NaN : (calls.create + calls.query) / Math.max(1, result.requests),
      peakRssMb: memoryOf(target.child.pid).peakMb,
      cpuUsPerRequest: (cpu * 1e6) / Math.max(1, result.requests),
      targetCpu: cpu / result.durationS,
      driverCoreBusy: driverBusy,
      loadCpu: result.cpuS / result.durationS,
      simCpu: simCpu / result.durationS,
      foreignCpu,
      window: { fromUs, toUs },
    }
  } finally {
    await target?.stop()
    await sim?.stop()
  }
}

interface Row {
  scenario: Scenario
  target: TargetKind
  rps: number
  p50: number
  p99: number
  errors: number
  callsPerRequest: number
  peakRssMb: number
  cpuUsPerRequest: number
  targetCpu: number
  driverCoreBusy: number
}

function aggregate(all: Measurement[]): Row[] {
  const rows: Row[] = []
  for (const scenario of scenarios) {
    for (const target of targets) {
      const ms = all.filter((m) => m.scenario === scenario.name && m.target === target)
      if (ms.length === 0) continue
      const med = (f: (m: Measurement) => number) => median(ms.map(f))
      rows.push({
        scenario,
        target,
        rps: med((m) => m.rps),
        p50: med((m) => m.p50),
        p99: med((m) => m.p99),
        errors: ms.reduce((n, m) => n + m.errors, 0),
        callsPerRequest: med((m) => m.callsPerRequest),
        peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
        cpuUsPerRequest: med((m) => m.cpuUsPerRequest),
        targetCpu: med((m) => m.targetCpu),
        driverCoreBusy: med((m) => m.driverCoreBusy),
      })
    }
  }
  return rows
}

/** Median over runs of the per-run ratio gateway ÷ other (runs next to each other share the machine's mood). */
function ratio(all: Measurement[], scenario: ScenarioName, other: TargetKind, f: (m: Measurement) => number) {
  const per: number[] = []
  for (let run = 1; run <= RUNS; run++) {
    const g = all.find((m) => m.scenario === scenario && m.target === 'gateway' && m.run === run)
    const o = all.find((m) => m.scenario === scenario && m.target === other && m.run === run)
    if (g && o) per.push(f(g) / f(o))
  }
  return { median: median(per), runs: per }
}

interface Verdict {
  goal: string
  measured: string
  met: boolean
  scenario?: ScenarioName
}

function verdicts(all: Measurement[], rows: Row[]): Verdict[] {
  const out: Verdict[] = []
  const row = (s: ScenarioName, t: TargetKind) => rows.find((r) => r.scenario.name === s && r.target === t)
  const x = (v: number) => `${v.toFixed(2)}×`
  const runs = (v: number[]) => `runs ${v.map((r) => r.toFixed(2)).join(', ')}`
  const goals: [ScenarioName, number, string][] = [
    ['forward', 1.1, 'pure-forwarding queries ≥ 1.1× the bare proxy’s req/s'],
    ['completed', 3, 'completed-task polls ≥ 3× the bare proxy’s req/s'],
    ['create', 0.9, 'creates ≥ 0.9× the bare proxy’s req/s'],
  ]
  for (const [s, min, goal] of goals) {
    if (!row(s, 'gateway') || !row(s, 'proxy')) continue
    const r = ratio(all, s, 'proxy', (m) => m.rps)
    out.push({ goal, measured: `${x(r.median)} (${runs(r.runs)})`, met: r.median >= min, scenario: s })
    if (s === 'forward') {
      const g = row(s, 'gateway') as Row
      const p = row(s, 'proxy') as Row
      out.push({
        goal: 'pure-forwarding p99 no higher than the bare proxy’s',
        measured: `${g.p99.toFixed(2)} ms vs ${p.p99.toFixed(2)} ms`,
        met: g.p99 <= p.p99,
        scenario: s,
      })
    }
  }
  const gateway = all.filter((m) => m.target === 'gateway')
  if (gateway.length > 0) {
    const errors = gateway.reduce((n, m) => n + m.errors, 0)
    out.push({ goal: 'zero errors (gateway, every run)', measured: String(errors), met: errors === 0 })
    const peak = Math.max(...gateway.map((m) => m.peakRssMb))
    out.push({ goal: 'gateway peak RSS < 150 MB', measured: `${peak.toFixed(0)} MB`, met: peak < 150 })
  }
  return out
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—')
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—')
const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '—')
const pc = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : '—')

function resultsMarkdown(
  machine: string,
  all: Measurement[],
  rows: Row[],
  checks: Verdict[],
  profiles: string[],
): string {
  const lines: string[] = []
  lines.push(`## Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '')
  lines.push(machine)
  lines.push(
    `- Load: autocannon, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up then ${DURATION_S} s measured, per target and scenario; ${RUNS} runs, each on fresh processes; polls cycle through ${TASK_POOL} tasks`,
    '',
  )
  lines.push('### Medians of the runs', '')
  lines.push(
    '| scenario | target | req/s | p50 ms | p99 ms | errors | upstream calls / req | peak RSS MB | CPU µs / req | target CPU | load core busy |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const r of rows) {
    lines.push(
      `| ${r.scenario.name} | ${r.target} | ${f0(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${r.errors} | ${f2(r.callsPerRequest)} | ${f0(r.peakRssMb)} | ${f0(r.cpuUsPerRequest)} | ${pc(r.targetCpu)} | ${pc(r.driverCoreBusy)} |`,
    )
  }
  lines.push('')
  lines.push(
    '_errors_: socket errors, timeouts and non-2xx answers, summed over the runs. _peak RSS_: the highest VmHWM of the runs. _CPU µs / req_: CPU time the process under test used per answered request. _target CPU_: share of one core it used. _load core busy_: how busy the core of the load generator and the simulator was (when it nears 100 %, that core, not the target, sets the pace).',
    '',
  )
  lines.push('### Ratios (median of the per-run ratios)', '')
  lines.push(
    '| scenario | gateway ÷ proxy req/s | gateway ÷ simulator req/s | gateway ÷ proxy CPU µs / req |',
  )
  lines.push('|---|---:|---:|---:|')
  for (const s of scenarios) {
    const p = ratio(all, s.name, 'proxy', (m) => m.rps).median
    const sim = ratio(all, s.name, 'simulator', (m) => m.rps).median
    const cpu = ratio(all, s.name, 'proxy', (m) => m.cpuUsPerRequest).median
    lines.push(`| ${s.name}: ${s.title} | ${f2(p)} | ${f2(sim)} | ${f2(cpu)} |`)
  }
  lines.push('', '### Targets', '')
  lines.push('| goal | measured | met |', '|---|---|---|')
  for (const c of checks) lines.push(`| ${c.goal} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`)
  lines.push('', '### Every run', '')
  lines.push(
    '| scenario | target | run | req/s | p50 ms | p99 ms | errors | calls / req | peak RSS MB | CPU µs / req | CPU: target / load gen / simulator / other jobs | status codes |',
  )
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|')
  for (const m of all) {
    const codes = Object.entries(m.statusCodes)
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ')
    lines.push(
      `| ${m.scenario} | ${m.target} | ${m.run} | ${f0(m.rps)} | ${f2(m.p50)} | ${f2(m.p99)} | ${m.errors} | ${f2(m.callsPerRequest)} | ${f1(m.peakRssMb)} | ${f0(m.cpuUsPerRequest)} | ${pc(m.targetCpu)} / ${pc(m.loadCpu)} / ${pc(m.simCpu)} / ${pc(m.foreignCpu)} | ${codes} |`,
    )
  }
  if (profiles.length > 0) {
    lines.push(
      '',
      '### Where the gateway’s time goes (node --cpu-prof, one extra run per missed scenario)',
      '',
    )
    lines.push(...profiles)
  }
  return lines.join('\n')
}

async function profileScenario(scenario: Scenario, tenant: BenchTenant): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-bench-prof-'))
  try {
    const m = await measure(scenario, 'gateway', 0, tenant, ['--cpu-prof', `--cpu-prof-dir=${dir}`])
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
    if (!file) return `#### ${scenario.name}\n\nno profile was written`
    const summary = summarizeProfile(join(dir, file), m.window)
    return [
      `#### ${scenario.name}: ${scenario.title}`,
      '',
      `Profiled run (measured window only): ${f0(m.rps)} req/s (the profiler costs some), ${f0(m.cpuUsPerRequest)} µs CPU per request; other jobs used ${pc(m.foreignCpu)} of a core meanwhile.`,
      '',
      profileMarkdown(summary),
      '',
    ].join('\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Waits (within the budget) until the machine is idle for a second: nothing of the bench runs now. */
async function waitForQuiet(): Promise<number> {
  const started = Date.now()
  for (;;) {
    const before = coreTimes()
    await sleep(1000)
    const busy = coreBusy(before, coreTimes()).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
    const waited = Date.now() - started
    if (busy < MAX_FOREIGN || waited >= quietBudgetMs) {
      quietBudgetMs = Math.max(0, quietBudgetMs - waited)
      return busy
    }
  }
}

async function quietMeasure(scenario: Scenario, kind: TargetKind, run: number, tenant: BenchTenant) {
  let best: Measurement | undefined
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    const idle = await waitForQuiet()
    if (idle >= MAX_FOREIGN) log(`  machine still busy (${pc(idle)} of a core in use); measuring anyway`)
    const began = Date.now()
    const m = await measure(scenario, kind, run, tenant)
    // A measurement made again is time spent on the neighbours' account too.
    if (attempt > 0) quietBudgetMs = Math.max(0, quietBudgetMs - (Date.now() - began))
    if (!best || m.foreignCpu < best.foreignCpu) best = m
    if (m.foreignCpu < MAX_FOREIGN || quietBudgetMs === 0) break
    log(`  other jobs used ${pc(m.foreignCpu)} of a core during ${scenario.name}/${kind}; measuring again`)
  }
  return best as Measurement
}

async function main() {
  stopChildrenOnExit()
  log('compiling the bench processes…')
  compileBenchScripts()
  // Read now, next to the build: the checkout may move on while the bench runs.
  const machine = machineMarkdown(pinning)
  if (pinning.enabled && driverCpus) pinProcess(process.pid, driverCpus)
  else log(`not pinned: ${pinning.why}`)
  const tenant = writeBenchTenant()
  const all: Measurement[] = []
  const total = RUNS * scenarios.length * targets.length
  const started = Date.now()
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const scenario of scenarios) {
        // Rotate the order each run, so no target always goes first.
        const order = targets.map((_, i) => targets[(i + run - 1) % targets.length] as TargetKind)
        for (const kind of order) {
          const m = await quietMeasure(scenario, kind, run, tenant)
          all.push(m)
          log(
            `[${all.length}/${total} ${((Date.now() - started) / 1000).toFixed(0)}s] run ${run} ${scenario.name.padEnd(9)} ${kind.padEnd(9)} ${f0(m.rps).padStart(6)} req/s  p50 ${f2(m.p50)} ms  p99 ${f2(m.p99)} ms  errors ${m.errors}  calls/req ${f2(m.callsPerRequest)}  peak ${f0(m.peakRssMb)} MB  ${f0(m.cpuUsPerRequest)} µs/req  cpu: target ${pc(m.targetCpu)} load ${pc(m.loadCpu)} sim ${pc(m.simCpu)} foreign ${pc(m.foreignCpu)}  load core ${pc(m.driverCoreBusy)}`,
          )
        }
      }
    }
    const rows = aggregate(all)
    const checks = verdicts(all, rows)
    for (const c of checks) log(`${c.met ? 'MET   ' : 'MISSED'} ${c.goal}: ${c.measured}`)
    const missed = new Set(checks.filter((c) => !c.met).flatMap((c) => (c.scenario ? [c.scenario] : [])))
    if (checks.some((c) => !c.met && !c.scenario)) for (const s of scenarios) missed.add(s.name)
    const toProfile =
      PROFILE === '1' ? scenarios : PROFILE === '0' ? [] : scenarios.filter((s) => missed.has(s.name))
    const profiles: string[] = []
    if (targets.includes('gateway')) {
      for (const s of toProfile) {
        log(`profiling the gateway under ${s.name}…`)
        await waitForQuiet()
        profiles.push(await profileScenario(s, tenant))
      }
    }
    const markdown = resultsMarkdown(machine, all, rows, checks, profiles)
    if (WRITE) {
      writeSection('main', markdown)
      log('wrote bench/RESULTS.md')
    } else log(markdown)
  } finally {
    await stopAll()
    rmSync(tenant.dir, { recursive: true, force: true })
  }
}

main().catch(async (err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`)
  await stopAll()
  process.exit(1)
})
