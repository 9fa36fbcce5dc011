import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** Shapes shared by the orchestrator (bench/run.ts, bench/soak.ts) and the load process (bench/load.ts). */

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where bench/run.ts compiles the bench's own child-process scripts (inside node_modules so imports resolve). */
export const BENCH_BUILD_DIR = `${REPO_ROOT}node_modules/.cache/omni-bench`

export interface LoadRequest {
  method: 'GET' | 'POST'
  /** Cycled through in order, one counter per request kind shared by every connection. */
  paths: string[]
  /**
   * Each connection walks the paths in order by itself instead: autocannon then builds every request
   * once, which keeps the load generator's own cost down, but two connections may ask for one path
   * at the same moment (fine where that cannot change what the target does).
   */
  perConnection?: boolean
  /**
   * The paths are dealt out among the connections instead (connection i walks paths i, i + n, i + 2n,
   * … of n connections), each built once: no two connections ask for one path at the same moment, and
   * the load generator pays as little per send as with `perConnection`. Needs at least as many paths
   * as connections.
   */
  dealt?: boolean
  body?: string
  headers?: Record<string, string>
}

export interface LoadSpec {
  url: string
  connections: number
  durationS: number
  /** Requests per second across all connections; unset = as fast as the target answers. */
  overallRate?: number
  headers: Record<string, string>
  /** Each connection cycles through these in order. */
  requests: LoadRequest[]
  timeoutS?: number
}

export interface LoadResult {
  requests: number
  durationS: number
  rps: number
  /** Measured per response with sub-millisecond resolution (autocannon's own histogram keeps whole ms). */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number }
  errors: number
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
  /** CPU seconds the load generator itself used while measuring. */
  cpuS: number
}

/** Pinning: the process under test on one core, the load generator and simulator on another. */
export interface Pinning {
  enabled: boolean
  why: string
  target: string
  driver: string
}

export function detectPinning(): Pinning {
  if (process.env.BENCH_PIN === '0') return { enabled: false, why: 'BENCH_PIN=0', target: '', driver: '' }
  if (availableParallelism() < 2) {
    return { enabled: false, why: 'fewer than 2 cores', target: '', driver: '' }
  }
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
  } catch {
    return {
      enabled: false,
      why: '`taskset` (util-linux) is missing or not permitted',
      target: '',
      driver: '',
    }
  }
  return { enabled: true, why: 'taskset', target: '0', driver: '1' }
}

/** Pins an already running process (all its threads) to `cpus`. */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

export interface Child {
  name: string
  proc: ChildProcess
  pid: number
  stdout: string[]
  stderr: string[]
  exited: Promise<number | null>
  /** Resolves with the first stdout line that parses as JSON. */
  firstJson<T>(timeoutMs?: number): Promise<T>
  stop(timeoutMs?: number): Promise<void>
}

const children = new Set<Child>()

/** Starts `node ...args`, pinned to `cpus` when given. */
export function spawnNode(
  name: string,
  args: string[],
  options: { env?: Record<string, string>; cpus?: string },
): Child {
  let argv = [process.execPath, ...args]
  if (options.cpus) argv = ['taskset', '-c', options.cpus, ...argv]
  // BENCH_NICE (e.g. -5) favours the bench's processes over other jobs on a shared machine.
  const nice = process.env.BENCH_NICE
  if (nice) argv = ['nice', '-n', nice, ...argv]
  const proc = spawn(argv[0] as string, argv.slice(1), {
    cwd: REPO_ROOT,
    // nice and taskset exec what follows, so the pid is node's own.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (proc.pid === undefined) throw new Error(`${name} did not start`)
  const stdout: string[] = []
  const stderr: string[] = []
  const waiters = new Set<() => void>()
  for (const [stream, into] of [
    [proc.stdout, stdout],
    [proc.stderr, stderr],
  ] as const) {
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      into.push(line)
      if (into.length > 2000) into.splice(0, 1000)
      for (const wake of waiters) wake()
    })
  }
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)))
  let gone = false
  void exited.then(() => {
    gone = true
    for (const wake of waiters) wake()
  })
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    stdout,
    stderr,
    exited,
    firstJson<T>(timeoutMs = 15_000) {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`${name}: no JSON line within ${timeoutMs} ms`)),
          timeoutMs,
        )
        const done = (err?: Error, value?: T) => {
          clearTimeout(timer)
          waiters.delete(check)
          if (err) reject(err)
          else resolve(value as T)
        }
        const check = () => {
          for (const line of stdout) {
            if (!line.startsWith('{')) continue
            try {
              return done(undefined, JSON.parse(line) as T)
            } catch {}
          }
          if (gone) done(new Error(`${name} exited early: ${stderr.slice(-10).join('\n')}`))
        }
        waiters.add(check)
        check()
      })
    },
    async stop(timeoutMs = 15_000) {
      if (gone) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(timer)
      children.delete(child)
    },
  }
  children.add(child)
  return child
}

/** Kills every child still running (on the orchestrator's exit or a failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(3000)))
}

let exitHooked = false
export function stopChildrenOnExit(): void {
  if (exitHooked) return
  exitHooked = true
  process.on('exit', () => {
    for (const c of children) c.proc.kill('SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      void stopAll().finally(() => process.exit(130))
    })
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function waitForHttp(url: string, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      if (res.ok) return
    } catch {}
    if (child.proc.exitCode !== null) {
      throw new Error(
        `${child.name} exited with ${child.proc.exitCode}: ${child.stderr.slice(-10).join('\n')}`,
      )
    }
    if (Date.now() > deadline) throw new Error(`${child.name}: ${url} not answering after ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** Peak and current resident set of a process, in MB, from /proc (VmHWM is the kernel's high-water mark). */
export function memoryOf(pid: number): { peakMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 }
}

let clockTicks: number | undefined
/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number (got "${raw}")`)
  return value
}

export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}node_modules/${name}/package.json`, 'utf8')) as {
      version: string
    }
    return pkg.version
  } catch {
    return '?'
  }
}

/** Busy and total jiffies of each CPU, from /proc/stat. */
export function coreTimes(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    const v = (m[2] ?? '').split(/\s+/).map(Number)
    const total = v.reduce((a, b) => a + b, 0)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    out[Number(m[1])] = { busy: total - idle, total }
  }
  return out
}

/** Fraction of each CPU that was busy between two coreTimes() readings. */
export function coreBusy(
  before: ReturnType<typeof coreTimes>,
  after: ReturnType<typeof coreTimes>,
): number[] {
  return after.map((a, i) => {
    const b = before[i]
    if (!b || a.total === b.total) return Number.NaN
    return (a.busy - b.busy) / (a.total - b.total)
  })
}
