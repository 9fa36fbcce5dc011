import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Simulator, startSimulator } from '../src/simulator/app.js'
import {
  bearer,
  makeTenant,
  tempDir,
  UPSTREAM_TEST_TOKEN,
  validCreate,
  writeTenantsFile,
} from './helpers/gateway.js'
import { killAllServers, REPO_ROOT, type ServerProcess, startServer } from './helpers/process.js'

/**
 * No Docker engine runs where the tests run, so this performs the image's steps by hand: a production
 * install of package.json + package-lock.json (`npm ci --omit=dev`, as the prod-deps stage), the build
 * output of `npm run build` next to it (as the build stage), and `node dist/server.js` from that
 * directory (as the runtime stage's CMD), started against the simulator.
 */

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')
/** The image's CMD, e.g. ["node", "--flag", "dist/server.js"]. */
const imageCommand = JSON.parse(dockerfile.match(/^CMD (\[.*\])$/m)?.[1] ?? '[]') as string[]
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`))
        else resolve()
      },
    )
  })
}

describe('the Dockerfile', () => {
  it('builds on a current Node LTS image in stages and installs only production dependencies', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(22|24|26)-[a-z]+-slim$/m)
    expect(dockerfile).toMatch(/^FROM toolchain AS build$/m)
    expect(dockerfile).toMatch(/^FROM toolchain AS prod-deps$/m)
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m)
    expect(dockerfile).toContain('RUN npm run build')
    expect(dockerfile).toContain('RUN npm ci --omit=dev --no-audit --no-fund')
    expect(dockerfile).toContain('COPY --from=build /app/dist ./dist')
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json')
  })

  it('runs as the node user with a data volume, a health check on /healthz and node dist/server.js', () => {
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m)
    expect(dockerfile).toMatch(/DATA_DIR=\/data/)
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n[^\n]*\/healthz/m)
    expect(imageCommand.at(-1)).toBe('dist/server.js')
  })

  it('runs node with the same memory and GC settings as npm start, which the bench uses too', () => {
    const start = (pkg.scripts.start ?? '').split(' ')
    const settings = start.slice(0, start.indexOf('node'))
    expect(settings).toContain('MALLOC_ARENA_MAX=1')
    for (const setting of settings) expect(dockerfile).toMatch(new RegExp(`^\\s+${setting}( \\\\)?$`, 'm'))
    expect(start.slice(settings.length)).toEqual(imageCommand)
    expect(imageCommand).toEqual(
      expect.arrayContaining([
        '--max-semi-space-size=4',
        '--heap-growing-percent=75',
        '--single-threaded-gc',
      ]),
    )
  })
})

describe('docker-compose.yml', () => {
  it('runs the gateway from the Dockerfile next to Redis, each with a named volume', () => {
    expect(compose).toMatch(/^ {2}gateway:\n {4}build: \.$/m)
    expect(compose).toMatch(/^ {2}redis:\n {4}image: redis:7/m)
    expect(compose).toContain('"--appendonly", "yes"')
    expect(compose).toMatch(/deploy:\n {6}replicas: 2/)
    expect(compose).toContain('- gateway-data:/data')
    expect(compose).toContain('- redis-data:/data')
    expect(compose).toMatch(/- \.\/config:\/config:ro/)
    expect(compose).toMatch(/^volumes:\n {2}gateway-data:\n {2}redis-data:$/m)
  })
})

describe('the image built by hand', () => {
  const tenant = makeTenant('marketing')
  let dir: string
  let upstream: Simulator
  let server: ServerProcess

  beforeAll(async () => {
    dir = tempDir('omni-gw-image-')
    copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'))
    copyFileSync(join(REPO_ROOT, 'package-lock.json'), join(dir, 'package-lock.json'))
    await Promise.all([
      run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], dir, 240_000),
      run(
        process.execPath,
        [
          join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
          '-p',
          'tsconfig.build.json',
          '--outDir',
          join(dir, 'dist'),
        ],
        REPO_ROOT,
        120_000,
      ),
    ])
    mkdirSync(join(dir, 'config'))
    writeTenantsFile(join(dir, 'config/tenants.json'), [tenant.entry])
    upstream = await startSimulator({ token: UPSTREAM_TEST_TOKEN })
    server = await startServer(
      {
        NODE_ENV: 'production',
        MALLOC_ARENA_MAX: '1',
        HOST: '127.0.0.1',
        PORT: '0',
        UPSTREAM_API_KEY: UPSTREAM_TEST_TOKEN,
        UPSTREAM_BASE_URL: upstream.baseUrl,
        TENANTS_FILE: join(dir, 'config/tenants.json'),
        DATA_DIR: join(dir, 'data'),
      },
      // As the image's CMD runs it: a node that refused one of its flags would fail here.
      { args: imageCommand.slice(1), cwd: dir },
    )
  }, 300_000)

  afterAll(async () => {
    await killAllServers()
    await upstream?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('holds no development dependency', () => {
    expect(existsSync(join(dir, 'node_modules/better-sqlite3'))).toBe(true)
    for (const dev of ['typescript', 'tsx', 'vitest', '@biomejs/biome']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false)
    }
  })

  it('answers /healthz and /readyz with 200', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
  })

  it('forwards a create to the upstream and answers its task id', async () => {
    const res = await fetch(`${server.url}/v1/gemini/omni/videos`, {
      method: 'POST',
      headers: { ...bearer(tenant.key), 'content-type': 'application/json' },
      body: JSON.stringify(validCreate),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { data: { task_id: string } }
    expect(body.data.task_id).toMatch(/^sim_/)
    expect(upstream.calls.filter((c) => c.operation === 'create')).toHaveLength(1)
    const query = await fetch(`${server.url}/v1/videos/${body.data.task_id}`, { headers: bearer(tenant.key) })
    expect(query.status).toBe(200)
  })

  it('stops with exit code 0 on SIGTERM', async () => {
    server.signal('SIGTERM')
    expect(await server.waitForExit(10_000)).toEqual({ code: 0, signal: null })
  })
})
