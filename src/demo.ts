import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { loadConfig } from './config/env.js'
import { closeDeps, createDeps } from './deps.js'
import { createLogger } from './observability/logger.js'
import { startSimulator } from './simulator/app.js'
import { generateKey, hashKey } from './tenants/keys.js'

/** Where `npm run example:browser` serves its page by default; the demo tenant lists both spellings. */
const EXAMPLE_ORIGINS = ['http://127.0.0.1:8090', 'http://localhost:8090']

/** `npm run demo`: the gateway in front of the built-in simulator, with one demo tenant. */
async function main() {
  const upstreamToken = randomBytes(24).toString('hex')
  const simulator = await startSimulator({ token: upstreamToken, taskDurationMs: 30_000 })
  const dir = await mkdtemp(join(tmpdir(), 'omni-gateway-demo-'))
  const key = generateKey()
  const tenantsFile = join(dir, 'tenants.json')
  await writeFile(
    tenantsFile,
    JSON.stringify(
      {
        tenants: [
          { id: 'demo', keys: [{ id: 'demo-key', sha256: hashKey(key) }], cors_origins: EXAMPLE_ORIGINS },
        ],
      },
      null,
      2,
    ),
  )
  const config = loadConfig({
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    UPSTREAM_API_KEY: upstreamToken,
    UPSTREAM_BASE_URL: simulator.baseUrl,
    TENANTS_FILE: tenantsFile,
    DATA_DIR: join(dir, 'data'),
    HOST: process.env.HOST ?? '127.0.0.1',
    BROWSER_TOKEN_SECRET: process.env.BROWSER_TOKEN_SECRET || randomBytes(32).toString('hex'),
  })
  const deps = await createDeps(config, createLogger(config.logLevel))
  const app = await buildApp(config, deps)
  await app.listen({ port: config.port, host: config.host })
  const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`

  const body = { model: 'gemini-omni', prompt: 'A red kite over a windy beach, cinematic', duration: 6 }
  const created = await fetch(`${base}/v1/gemini/omni/videos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const { data } = (await created.json()) as { data: { task_id: string } }

  process.stdout.write(
    [
      '',
      `Omni Gateway demo: gateway on ${base}, simulated upstream on ${simulator.url} (tasks finish in 30 s)`,
      `Demo tenant "demo", key: ${key}`,
      '',
      'Create a task:',
      `curl -s -X POST ${base}/v1/gemini/omni/videos -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`,
      '',
      `Query the task the demo already created (${data.task_id}):`,
      `curl -s ${base}/v1/videos/${data.task_id} -H 'Authorization: Bearer ${key}'`,
      '',
      `Call it from a web page (${EXAMPLE_ORIGINS[0]}/), in another terminal:`,
      `PORT=8090 GATEWAY_URL=${base} TENANT_KEY=${key} npm run example:browser`,
      '',
      `Docs: ${base}/docs   Ctrl-C stops the demo.`,
      '',
    ].join('\n'),
  )

  closeWithGrace({ delay: 5000, skip: ['SIGHUP'] }, async () => {
    await app.close()
    await closeDeps(deps)
    await simulator.close()
  })
}

main().catch((err) => {
  process.stderr.write(`omni-gateway demo: cannot start: ${(err as Error).message}\n`)
  process.exit(1)
})
