import { isAbsolute, resolve } from 'node:path'
import {
  cpuSecondsOf,
  detectPinning,
  envNumber,
  type LoadSpec,
  median,
  memoryOf,
  pinProcess,
  stopAll,
  stopChildrenOnExit,
} from './common.js'
import { SCENARIOS } from './scenarios.js'
import {
  compileBenchScripts,
  type RunningTarget,
  runLoad,
  startGateway,
  startSimulatorProcess,
  writeBenchTenant,
} from './targets.js'

/**
 * `npm run bench:paired -- <a/server.js> <b/server.js> [scenario]`: two gateway builds on the same
 * core, loaded at the same moment by two load processes, so that whatever the machine does to one it
 * does to the other. Reports each build's CPU per request and their ratio per round. On a shared VM
 * whose speed drifts by ±20 % between runs, this tells a 3 % change from noise; one target at a time
 * (`npm run bench`) cannot.
 */

const [entryA, entryB, scenarioName = 'completed'] = process.argv.slice(2)
const ROUND_S = envNumber('BENCH_DURATION', 5)
const ROUNDS = envNumber('BENCH_RUNS', 5)
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50)

const log = (line: string) => process.stdout.write(`${line}\n`)

async function main() {
  const scenario = SCENARIOS.find((s) => s.name === scenarioName)
  if (!entryA || !entryB || !scenario) {
    throw new Error(
      `usage: npm run bench:paired -- <a/server.js> <b/server.js> [${SCENARIOS.map((s) => s.name).join('|')}]`,
    )
  }
  stopChildrenOnExit()
  compileBenchScripts()
  const pinning = detectPinning()
  const targetCpus = pinning.enabled ? pinning.target : undefined
  const driverCpus = pinning.enabled ? pinning.driver : undefined
  if (driverCpus) pinProcess(process.pid, driverCpus)
  const tenant = writeBenchTenant()
  const sim = await startSimulatorProcess(driverCpus)
  const entries = [entryA, entryB].map((e) => (isAbsolute(e) ? e : resolve(e)))
  const builds: { target: RunningTarget; spec: LoadSpec }[] = []
  for (const entry of entries) {
    const target = await startGateway({
      tenant,
      upstreamBaseUrl: sim.baseUrl,
      cpus: targetCpus,
      env: scenario.gatewayEnv,
      entry,
    })
    const requests = await scenario.prepare(target, sim)
    const spec = {
      url: target.url,
      connections: CONNECTIONS / 2,
      durationS: ROUND_S,
      headers: { authorization: target.authorization },
      requests,
    }
    builds.push({ target, spec })
  }
  log(
    `${scenario.name}: ${entries.join(' vs ')}; ${ROUNDS} rounds of ${ROUND_S} s, ${CONNECTIONS / 2} connections each`,
  )
  await Promise.all(builds.map((b) => runLoad({ ...b.spec, durationS: 2 }, driverCpus)))
  const costs: [number[], number[]] = [[], []]
  for (let round = 1; round <= ROUNDS; round++) {
    const before = builds.map((b) => cpuSecondsOf(b.target.child.pid))
    const results = await Promise.all(builds.map((b) => runLoad(b.spec, driverCpus)))
    const us = builds.map((b, i) => {
      const cpu = cpuSecondsOf(b.target.child.pid) - (before[i] as number)
      return (cpu * 1e6) / Math.max(1, results[i]?.requests ?? 0)
    }) as [number, number]
    costs[0].push(us[0])
    costs[1].push(us[1])
    const errors = results.map((r) => r.errors + r.non2xx).join('/')
    log(
      `round ${round}: A ${results[0]?.rps.toFixed(0)} req/s ${us[0].toFixed(1)} µs/req | B ${results[1]?.rps.toFixed(0)} req/s ${us[1].toFixed(1)} µs/req | B ÷ A ${(us[1] / us[0]).toFixed(3)} | errors ${errors}`,
    )
  }
  const [a, b] = costs.map(median) as [number, number]
  const peaks = builds.map((x) => memoryOf(x.target.child.pid).peakMb.toFixed(0))
  log(`median CPU per request: A ${a.toFixed(1)} µs, B ${b.toFixed(1)} µs, B ÷ A ${(b / a).toFixed(3)}`)
  log(`peak RSS: A ${peaks[0]} MB, B ${peaks[1]} MB`)
  for (const x of builds) await x.target.stop()
  await sim.stop()
}

main()
  .catch((err) => {
    process.stderr.write(`paired bench failed: ${(err as Error).stack ?? err}\n`)
    process.exitCode = 1
  })
  .finally(stopAll)
