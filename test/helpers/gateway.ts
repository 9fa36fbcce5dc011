import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type Clock, type Deps } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config/env.js'
import type { TenantEntry, TenantsFile } from '../../src/config/tenants-file.js'
import { closeDeps, createDeps } from '../../src/deps.js'
import { createLogger } from '../../src/observability/logger.js'
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/app.js'
import { generateKey, hashKey } from '../../src/tenants/keys.js'
import { capturedLogLines, rememberSecret } from './secrets.js'

export const UPSTREAM_TEST_TOKEN = rememberSecret(`upstream-test-token-${generateKey()}`)

export interface TestTenant {
  entry: TenantEntry
  key: string
}

/** A tenant with one fresh key; `key` is what a caller sends, the entry holds only its hash. */
export function makeTenant(id: string, extra: Partial<Omit<TenantEntry, 'id' | 'keys'>> = {}): TestTenant {
  const key = rememberSecret(generateKey())
  return { key, entry: { id, keys: [{ id: `${id}-key`, sha256: hashKey(key) }], ...extra } }
}

export function tempDir(prefix = 'omni-gw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function writeTenantsFile(path: string, tenants: TenantEntry[]): void {
  writeFileSync(path, JSON.stringify({ tenants } satisfies TenantsFile, null, 2))
}

/** A pino destination that keeps every line for the secret check and for assertions. */
export function captureLogs(): { stream: Writable; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        lines.push(line)
        capturedLogLines.push(line)
      }
      done()
    },
  })
  return { stream, lines }
}

export interface TestGateway {
  app: FastifyInstance
  deps: Deps
  config: Config
  upstream: Simulator
  logs: string[]
  dataDir: string
  tenantsFile: string
  close(): Promise<void>
}

export interface TestGatewayOptions {
  tenants: TestTenant[]
  env?: Record<string, string>
  simulator?: Partial<SimulatorOptions>
  dataDir?: string
  upstream?: Simulator
  /** Replaces the wall clock for the gateway and (unless an upstream is given) the simulator. */
  clock?: Clock
}

/** Simulator on a real socket + a gateway built exactly as server.ts builds it, in a temp DATA_DIR. */
export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const upstream =
    options.upstream ??
    (await startSimulator({ token: UPSTREAM_TEST_TOKEN, now: options.clock?.now, ...options.simulator }))
  const dir = tempDir()
  const tenantsFile = join(dir, 'tenants.json')
  writeTenantsFile(
    tenantsFile,
    options.tenants.map((t) => t.entry),
  )
  const dataDir = options.dataDir ?? join(dir, 'data')
  const config = loadConfig({
    UPSTREAM_API_KEY: UPSTREAM_TEST_TOKEN,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    TENANTS_FILE: tenantsFile,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    UPSTREAM_TIMEOUT_MS: '2000',
    // Tests count upstream calls exactly: the background refresher runs only where a test asks for it.
    REFRESH_INTERVAL_MS: '0',
    ...options.env,
  })
  const { stream, lines } = captureLogs()
  const deps = await createDeps(config, createLogger(config.logLevel, stream))
  if (options.clock) deps.clock = options.clock
  const app = await buildApp(config, deps)
  await app.ready()
  return {
    app,
    deps,
    config,
    upstream,
    logs: lines,
    dataDir,
    tenantsFile,
    async close() {
      await app.close()
      await closeDeps(deps)
      if (!options.upstream) await upstream.close()
    },
  }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

export const validCreate = { model: 'Gemini-Omini', prompt: 'a red kite over the sea' }

/** A valid create through the route, as the tenant with `key`. */
export const createTask = (gw: Pick<TestGateway, 'app'>, key: string) =>
  gw.app.inject({ method: 'POST', url: '/v1/gemini/omni/videos', headers: bearer(key), payload: validCreate })

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 10, 27, 12)) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}
