import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey, hashKey } from '../src/tenants/keys.js'
import {
  BENCH_BUILD_DIR,
  type Child,
  freePort,
  type LoadResult,
  type LoadSpec,
  REPO_ROOT,
  spawnNode,
  waitForHttp,
} from './common.js'

/** Starts each process of the bench as a child of its own: the simulator, the gateway, the bare proxy. */

export type TargetKind = 'gateway' | 'proxy' | 'simulator'
export const TARGET_KINDS: TargetKind[] = ['gateway', 'proxy', 'simulator']

/** Every target serves the upstream's own paths, so one load spec fits all three. */
export const PREFIX = '/api/open-api'
export const CREATE_PATH = `${PREFIX}/v1/gemini/omni/videos`
export const queryPath = (taskId: string) => `${PREFIX}/v1/videos/${encodeURIComponent(taskId)}`

/** The upstream token the simulator expects and the gateway and proxy send; never a real one. */
export const SIM_TOKEN = 'bench-upstream-token-not-a-secret'

export const compiled = (script: string) => join(BENCH_BUILD_DIR, 'bench', `${script}.js`)

/**
 * Compiles the bench's child-process scripts to plain JavaScript, so that every process under test
 * runs as the gateway does (node on .js files) and none carries a TypeScript loader's thread and heap.
 */
export function compileBenchScripts(): void {
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      ...['--outDir', BENCH_BUILD_DIR, '--rootDir', REPO_ROOT, '--module', 'NodeNext'],
      ...['--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck'],
      ...['--esModuleInterop', '--types', 'node'],
      ...['simulator-process', 'bare-proxy', 'load'].map((s) => join(REPO_ROOT, 'bench', `${s}.ts`)),
      join(REPO_ROOT, 'bench', 'autocannon.d.ts'),
    ],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  )
  // Inside node_modules no package.json of ours applies: say these files are ES modules.
  mkdirSync(BENCH_BUILD_DIR, { recursive: true })
  writeFileSync(join(BENCH_BUILD_DIR, 'package.json'), '{ "type": "module" }\n')
}

export interface BenchTenant {
  key: string
  tenantsFile: string
  dir: string
}

/** A tenant with no limits at all, in a tenants file of its own. */
export function writeBenchTenant(): BenchTenant {
  const dir = mkdtempSync(join(tmpdir(), 'omni-bench-'))
  const key = generateKey()
  const tenantsFile = join(dir, 'tenants.json')
  writeFileSync(
    tenantsFile,
    JSON.stringify(
      { tenants: [{ id: 'bench', keys: [{ id: 'bench-key', sha256: hashKey(key) }] }] },
      null,
      2,
    ),
  )
  return { key, tenantsFile, dir }
}

export interface SimulatorProcess {
  child: Child
  /** Origin, e.g. http://127.0.0.1:40123 */
  url: string
  baseUrl: string
  statsUrl: string
  stats(): Promise<{ create: number; query: number }>
  reset(): Promise<void>
  finish(taskId: string): Promise<void>
  stop(): Promise<void>
}

export async function startSimulatorProcess(cpus: string | undefined): Promise<SimulatorProcess> {
  const child = spawnNode('simulator', [compiled('simulator-process')], {
    cpus,
    env: { SIM_TOKEN, SIM_TASK_DURATION_MS: String(1e9) },
  })
  const info = await child.firstJson<{ url: string; baseUrl: string; statsUrl: string }>()
  const side = async (method: string, path: string) => {
    const res = await fetch(info.statsUrl + path, { method })
    if (!res.ok) throw new Error(`simulator ${method} ${path}: ${res.status}`)
    return res.json() as Promise<{ create: number; query: number }>
  }
  return {
    child,
    ...info,
    stats: () => side('GET', '/__stats'),
    reset: async () => void (await side('POST', '/__reset')),
    finish: async (taskId) => void (await side('POST', `/__finish/${encodeURIComponent(taskId)}`)),
    stop: () => child.stop(),
  }
}

export interface RunningTarget {
  kind: TargetKind
  child: Child
  url: string
  /** The Authorization header a client of this target sends. */
  authorization: string
  /** For the simulator as a target: its own side server (finishing tasks). */
  self?: SimulatorProcess
  stop(): Promise<void>
}

export interface GatewayOptions {
  tenant: BenchTenant
  upstreamBaseUrl: string
  cpus: string | undefined
  env?: Record<string, string>
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** The gateway's entry point; default dist/server.js of this checkout (BENCH_GATEWAY_ENTRY overrides). */
  entry?: string
}

/** BENCH_GATEWAY_ENV="NAME=value NAME2=value": settings to try on the gateway (they win over the scenario's). */
function extraGatewayEnv(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of (process.env.BENCH_GATEWAY_ENV ?? '').split(/\s+/)) {
    const at = pair.indexOf('=')
    if (at > 0) out[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return out
}

/**
 * How `npm start` (and the image's CMD, which a test keeps equal to it) runs the gateway: the leading
 * NAME=value settings and the node flags of package.json's start script. The bench runs it the same way.
 */
export function shippedStart(): { env: Record<string, string>; nodeArgs: string[] } {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string }
  }
  const words = pkg.scripts.start.split(/\s+/)
  const env: Record<string, string> = {}
  while (words[0]?.includes('=')) {
    const [name, value] = (words.shift() as string).split('=') as [string, string]
    env[name] = value
  }
  if (words.shift() !== 'node') throw new Error(`npm start does not run node: ${pkg.scripts.start}`)
  return { env, nodeArgs: words.filter((w) => w.startsWith('-')) }
}

export async function startGateway(options: GatewayOptions): Promise<RunningTarget> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'omni-bench-data-'))
  const entry = options.entry ?? process.env.BENCH_GATEWAY_ENTRY ?? join(REPO_ROOT, 'dist', 'server.js')
  const shipped = shippedStart()
  // BENCH_GATEWAY_NODE_ARGS, when set (even empty), replaces the shipped node flags: for experiments.
  const nodeFlags =
    process.env.BENCH_GATEWAY_NODE_ARGS === undefined
      ? shipped.nodeArgs
      : process.env.BENCH_GATEWAY_NODE_ARGS.split(/\s+/).filter(Boolean)
  const child = spawnNode('gateway', [...nodeFlags, ...(options.nodeArgs ?? []), entry], {
    cpus: options.cpus,
    env: {
      ...shipped.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      UPSTREAM_API_KEY: SIM_TOKEN,
      UPSTREAM_BASE_URL: options.upstreamBaseUrl,
      TENANTS_FILE: options.tenant.tenantsFile,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...options.env,
      ...extraGatewayEnv(),
    },
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHttp(`${url}/healthz`, child)
  } catch (err) {
    await child.stop()
    throw err
  }
  return {
    kind: 'gateway',
    child,
    url,
    authorization: `Bearer ${options.tenant.key}`,
    async stop() {
      await child.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export async function startBareProxy(simOrigin: string, cpus: string | undefined): Promise<RunningTarget> {
  const child = spawnNode('bare-proxy', [compiled('bare-proxy')], {
    cpus,
    env: { PROXY_UPSTREAM: simOrigin, PROXY_TOKEN: SIM_TOKEN },
  })
  const { url } = await child.firstJson<{ url: string }>()
  // The proxy overwrites whatever Authorization the client sends; the client sends a tenant-like key anyway.
  return {
    kind: 'proxy',
    child,
    url,
    authorization: 'Bearer og_not-checked-by-the-bare-proxy',
    stop: () => child.stop(),
  }
}

export async function startSimulatorTarget(cpus: string | undefined): Promise<RunningTarget> {
  const sim = await startSimulatorProcess(cpus)
  return {
    kind: 'simulator',
    child: sim.child,
    url: sim.url,
    authorization: `Bearer ${SIM_TOKEN}`,
    self: sim,
    stop: sim.stop,
  }
}

/** Runs the load generator (bench/load.ts) as a process of its own and returns what it measured. */
export async function runLoad(spec: LoadSpec, cpus: string | undefined): Promise<LoadResult> {
  const child = spawnNode('load', [compiled('load'), JSON.stringify(spec)], { cpus })
  const code = await child.exited
  const line = [...child.stdout].reverse().find((l) => l.startsWith('{'))
  if (code !== 0 || !line)
    throw new Error(`load generator failed (${code}): ${child.stderr.slice(-5).join('\n')}`)
  return JSON.parse(line) as LoadResult
}
