import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Client } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Simulator, startSimulator } from '../src/simulator/app.js'
import {
  bearer,
  makeTenant,
  tempDir,
  UPSTREAM_TEST_TOKEN,
  validCreate,
  writeTenantsFile,
} from './helpers/gateway.js'
import {
  acceptsConnections,
  eventually,
  killAllServers,
  logMessage,
  spawnServer,
  startServer,
} from './helpers/process.js'

const dirs: string[] = []
afterEach(killAllServers)
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A fresh directory with a tenants file and a data dir, and the env that points the server at them. */
function setup(tenants = [makeTenant('marketing')]) {
  const dir = tempDir('omni-gw-process-')
  dirs.push(dir)
  const tenantsFile = join(dir, 'tenants.json')
  writeTenantsFile(
    tenantsFile,
    tenants.map((t) => t.entry),
  )
  const env: Record<string, string> = {
    UPSTREAM_API_KEY: UPSTREAM_TEST_TOKEN,
    UPSTREAM_BASE_URL: 'http://127.0.0.1:9/api/open-api',
    TENANTS_FILE: tenantsFile,
    DATA_DIR: join(dir, 'data'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
  }
  return { dir, tenantsFile, env }
}

describe('a start with bad configuration', () => {
  const cases: { name: string; names: string; arrange: (s: ReturnType<typeof setup>) => void }[] = [
    {
      name: 'without UPSTREAM_API_KEY',
      names: 'UPSTREAM_API_KEY',
      arrange: (s) => {
        delete s.env.UPSTREAM_API_KEY
      },
    },
    {
      name: 'with PORT=abc',
      names: 'PORT',
      arrange: (s) => {
        s.env.PORT = 'abc'
      },
    },
    {
      name: 'with UPSTREAM_BASE_URL=ftp://x',
      names: 'UPSTREAM_BASE_URL',
      arrange: (s) => {
        s.env.UPSTREAM_BASE_URL = 'ftp://x'
      },
    },
    {
      name: 'with a tenants file that is not JSON',
      names: 'TENANTS_FILE',
      arrange: (s) => writeFileSync(s.tenantsFile, '{\n  "tenants": [\n    oops\n  ]\n}\n'),
    },
    {
      name: 'with a key whose sha256 is not 64 lowercase hex characters',
      names: 'tenants[0].keys[0].sha256',
      arrange: (s) =>
        writeFileSync(
          s.tenantsFile,
          JSON.stringify({ tenants: [{ id: 'marketing', keys: [{ id: 'mk-1', sha256: 'ABC123' }] }] }),
        ),
    },
    {
      name: 'with a tenants file that does not exist',
      names: 'TENANTS_FILE',
      arrange: (s) => {
        s.env.TENANTS_FILE = join(s.dir, 'missing.json')
      },
    },
  ]

  for (const { name, names, arrange } of cases) {
    it(`${name} exits 1 with one line naming ${names} and never listens`, async () => {
      const s = setup()
      arrange(s)
      const server = spawnServer(s.env)
      const exit = await server.waitForExit()
      expect(exit).toEqual({ code: 1, signal: null })
      expect(server.stderr).toHaveLength(1)
      expect(server.stderr[0]).toMatch(/^omni-gateway: cannot start: /)
      expect(server.stderr[0]).toContain(names)
      expect(server.stderr.join('\n')).not.toContain('    at ')
      expect(server.stdout.filter((line) => /listening/i.test(line))).toEqual([])
    })
  }
})

describe('reloading the tenants file', () => {
  it('on SIGHUP adds and revokes keys without a restart, and a broken file leaves the keys in force', async () => {
    const alpha = makeTenant('marketing')
    const beta = makeTenant('marketing')
    beta.entry.keys[0] = { id: 'marketing-key-b', sha256: beta.entry.keys[0]?.sha256 ?? '' }
    const s = setup([alpha])
    const server = await startServer(s.env)
    const list = (key: string) =>
      fetch(`${server.url}/v1/videos`, { headers: bearer(key) }).then((res) => res.status)
    expect(await list(alpha.key)).toBe(200)
    expect(await list(beta.key)).toBe(401)

    const alphaKey = alpha.entry.keys[0]
    const betaKey = beta.entry.keys[0]
    if (!alphaKey || !betaKey) throw new Error('test tenants have a key')
    writeTenantsFile(s.tenantsFile, [{ id: 'marketing', keys: [{ ...alphaKey, disabled: true }, betaKey] }])
    server.signal('SIGHUP')
    await server.waitForLine((l) => logMessage(l) === 'tenants file reloaded', 'the reload log line')
    expect(await list(beta.key)).toBe(200)
    expect(await list(alpha.key)).toBe(401)

    writeTenantsFile(s.tenantsFile, [{ id: 'marketing', keys: [betaKey] }])
    server.signal('SIGHUP')
    await eventually(
      () => server.stdout.filter((l) => logMessage(l) === 'tenants file reloaded').length === 2,
      'the second reload',
    )
    expect(await list(beta.key)).toBe(200)
    expect(await list(alpha.key)).toBe(401)

    writeFileSync(s.tenantsFile, '{"tenants": [')
    server.signal('SIGHUP')
    const refused = await server.waitForLine(
      (l) => logMessage(l)?.startsWith('tenants file refused') === true,
      'the refusal log line',
    )
    expect(JSON.parse(refused).reason).toContain('TENANTS_FILE')
    expect(await list(beta.key)).toBe(200)
    expect(await list(alpha.key)).toBe(401)
    expect(server.exit).toBeUndefined()
  })
})

describe('shutdown on a signal', () => {
  let upstream: Simulator
  beforeAll(async () => {
    upstream = await startSimulator({ token: UPSTREAM_TEST_TOKEN })
  })
  afterAll(async () => {
    await upstream.close()
  })

  it('SIGTERM stops accepting connections, lets the create in flight finish with its task, and exits 0', async () => {
    const tenant = makeTenant('marketing')
    const s = setup([tenant])
    const server = await startServer({ ...s.env, UPSTREAM_BASE_URL: upstream.baseUrl })
    const callsBefore = upstream.calls.length
    upstream.failNext('create', { kind: 'delay', ms: 3000 })

    let settled = false
    const inFlight = fetch(`${server.url}/v1/gemini/omni/videos`, {
      method: 'POST',
      headers: { ...bearer(tenant.key), 'content-type': 'application/json' },
      body: JSON.stringify(validCreate),
    }).finally(() => {
      settled = true
    })
    await eventually(() => upstream.calls.length > callsBefore, 'the create to reach the upstream')

    server.signal('SIGTERM')
    await eventually(
      async () => !(await acceptsConnections(server.port)),
      'the listening socket to close',
      2000,
    )
    expect(settled, 'the create was still in flight when new connections were refused').toBe(false)

    const res = await inFlight
    expect(res.status, server.stdout.join('\n')).toBe(200)
    const body = (await res.json()) as { code: string; data: { task_id: string } }
    expect(body.code).toBe('20000')
    expect(body.data.task_id).toMatch(/^sim_/)

    expect(await server.waitForExit(10_000)).toEqual({ code: 0, signal: null })
    expect(server.stdout.map(logMessage)).toContain('stopped')
    expect(server.stderr).toEqual([])
  })

  it('SIGTERM closes a keep-alive connection after the answer in flight on it, and exits long before the grace period', async () => {
    const tenant = makeTenant('marketing')
    const s = setup([tenant])
    const server = await startServer({
      ...s.env,
      UPSTREAM_BASE_URL: upstream.baseUrl,
      SHUTDOWN_GRACE_MS: '30000',
    })
    const busy = new Client(server.url, { pipelining: 1 })
    const idle = new Client(server.url, { pipelining: 1 })
    try {
      // Both connections are open and kept alive before the signal; only `busy` has a request in flight.
      for (const client of [busy, idle]) {
        const res = await client.request({ method: 'GET', path: '/healthz' })
        await res.body.dump()
        expect(res.headers.connection).toBe('keep-alive')
      }
      const callsBefore = upstream.calls.length
      upstream.failNext('create', { kind: 'delay', ms: 1500 })
      const inFlight = busy.request({
        method: 'POST',
        path: '/v1/gemini/omni/videos',
        headers: { ...bearer(tenant.key), 'content-type': 'application/json' },
        body: JSON.stringify(validCreate),
      })
      await eventually(() => upstream.calls.length > callsBefore, 'the create to reach the upstream')

      const signalled = Date.now()
      server.signal('SIGTERM')
      const res = await inFlight
      expect(res.statusCode).toBe(200)
      expect(((await res.body.json()) as { code: string }).code).toBe('20000')
      expect(res.headers.connection).toBe('close')

      expect(await server.waitForExit(10_000)).toEqual({ code: 0, signal: null })
      expect(Date.now() - signalled).toBeLessThan(10_000)
      expect(server.stdout.map(logMessage)).toContain('stopped')
      expect(server.stdout.join('\n')).not.toContain('grace period over')
    } finally {
      await Promise.all([busy.destroy(), idle.destroy()])
    }
  })

  it('SIGINT stops an idle gateway with exit code 0', async () => {
    const server = await startServer(setup().env)
    server.signal('SIGINT')
    expect(await server.waitForExit(10_000)).toEqual({ code: 0, signal: null })
    expect(await acceptsConnections(server.port)).toBe(false)
  })
})
