import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Simulator, startSimulator } from '../src/simulator/app.js'
import { makeTenant, tempDir, UPSTREAM_TEST_TOKEN, validCreate, writeTenantsFile } from './helpers/gateway.js'
import { type ServerProcess, spawnServer } from './helpers/process.js'
import { TEST_REDIS_URL, uniquePrefix } from './helpers/stores.js'

const team = makeTenant('team')
const rated = makeTenant('rated', { limits: { create_per_minute: 3 } })
const quota = makeTenant('quota', { limits: { daily_video_seconds: 18 } })

describe('two gateway replicas sharing one Redis', () => {
  let upstream: Simulator
  let replicas: ServerProcess[]
  beforeAll(async () => {
    upstream = await startSimulator({ token: UPSTREAM_TEST_TOKEN })
    const dir = tempDir()
    const tenantsFile = join(dir, 'tenants.json')
    writeTenantsFile(tenantsFile, [team.entry, rated.entry, quota.entry])
    const prefix = uniquePrefix()
    replicas = ['a', 'b'].map((name) =>
      spawnServer({
        PORT: '0',
        HOST: '127.0.0.1',
        UPSTREAM_API_KEY: UPSTREAM_TEST_TOKEN,
        UPSTREAM_BASE_URL: upstream.baseUrl,
        TENANTS_FILE: tenantsFile,
        DATA_DIR: join(dir, `data-${name}`),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
      }),
    )
    await Promise.all(replicas.map((r) => r.waitUntilListening()))
  })
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill()))
    await upstream.close()
  })

  const create = (replica: ServerProcess, key: string, body: object = validCreate) =>
    fetch(`${replica.url}/v1/gemini/omni/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  const a = () => replicas[0] as ServerProcess
  const b = () => replicas[1] as ServerProcess

  it('answers a query through one replica for a task created through the other', async () => {
    const created = await create(a(), team.key)
    expect(created.status).toBe(200)
    const { data } = await created.json()
    const query = await fetch(`${b().url}/v1/videos/${data.task_id}`, {
      headers: { authorization: `Bearer ${team.key}` },
    })
    expect(query.status).toBe(200)
    expect((await query.json()).data.task_id).toBe(data.task_id)
  })

  it('shares one per-minute rate limit instead of doubling it', async () => {
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await create(i % 2 ? b() : a(), rated.key)).status)
    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('shares one daily quota instead of doubling it', async () => {
    const body = { ...validCreate, duration: 6 }
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await create(i % 2 ? b() : a(), quota.key, body)).status)
    expect(statuses).toEqual([200, 200, 200, 429])
  })
})
