import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  bearer,
  createTask,
  makeTenant,
  startTestGateway,
  type TestGateway,
  validCreate,
} from './helpers/gateway.js'

const alpha = makeTenant('alpha')
const beta = makeTenant('beta')

describe('task ownership', () => {
  let gw: TestGateway
  beforeEach(async () => {
    gw = await startTestGateway({ tenants: [alpha, beta] })
  })
  afterEach(async () => {
    await gw.close()
  })

  const createAs = async (key: string, prompt = 'a kite') => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: bearer(key),
      payload: { ...validCreate, prompt },
    })
    expect(res.statusCode).toBe(200)
    return res.json().data.task_id as string
  }

  it("answers another tenant's task with the same 404 as an unknown id", async () => {
    const taskId = await createAs(alpha.key)
    const theirs = await gw.app.inject({
      method: 'GET',
      url: `/v1/videos/${taskId}`,
      headers: bearer(beta.key),
    })
    const unknown = await gw.app.inject({
      method: 'GET',
      url: '/v1/videos/sim_unknown',
      headers: bearer(beta.key),
    })
    expect(theirs.statusCode).toBe(404)
    expect(unknown.statusCode).toBe(404)
    const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined })
    expect(strip(theirs.json())).toEqual(strip(unknown.json()))
    expect(gw.upstream.calls.filter((c) => c.operation === 'query')).toHaveLength(0)
  })

  it('lets the owner query its task through the upstream', async () => {
    const taskId = await createAs(alpha.key)
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/open-api/v1/videos/${taskId}`,
      headers: bearer(alpha.key),
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toMatchObject({ task_id: taskId, status: 'queued' })
  })

  it("lists only the caller's tasks, newest first, page by page", async () => {
    const mine = []
    for (let i = 0; i < 5; i++) mine.push(await createAs(alpha.key, `kite ${i}`))
    await createAs(beta.key)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const url: string = `/v1/videos?limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const res = await gw.app.inject({ method: 'GET', url, headers: bearer(alpha.key) })
      expect(res.statusCode).toBe(200)
      const { items, next_cursor } = res.json().data
      expect(items.length).toBeLessThanOrEqual(2)
      seen.push(...items.map((t: { task_id: string }) => t.task_id))
      cursor = next_cursor
    } while (cursor)
    expect(seen).toEqual([...mine].reverse())
  })

  it('describes each listed task with model, status, billable duration and resolution', async () => {
    await gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: bearer(alpha.key),
      payload: { model: 'omni-10s', prompt: 'a kite', duration: 4, resolution: '4k' },
    })
    const res = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(alpha.key) })
    expect(res.json().data.items[0]).toMatchObject({
      model: 'omni-10s',
      status: 'queued',
      duration: 10,
      resolution: '720p',
      created_at: expect.any(Number),
    })
  })

  it.each([
    ['limit=0', '/limit'],
    ['limit=101', '/limit'],
    ['limit=abc', '/limit'],
    ['cursor=not-a-cursor', '/cursor'],
  ])('refuses %s naming the parameter', async (query, field) => {
    const res = await gw.app.inject({ method: 'GET', url: `/v1/videos?${query}`, headers: bearer(alpha.key) })
    expect(res.statusCode).toBe(400)
    expect(res.json().details[0].field).toBe(field)
  })
})

describe('a restart with the same DATA_DIR', () => {
  it('keeps every recorded task and who owns it', async () => {
    const first = await startTestGateway({ tenants: [alpha, beta] })
    const created = await createTask(first, alpha.key)
    const taskId = created.json().data.task_id
    await first.app.close()
    await first.deps.store.close()

    const second = await startTestGateway({
      tenants: [alpha, beta],
      dataDir: first.dataDir,
      upstream: first.upstream,
    })
    try {
      const own = await second.app.inject({
        method: 'GET',
        url: `/v1/videos/${taskId}`,
        headers: bearer(alpha.key),
      })
      expect(own.statusCode).toBe(200)
      const other = await second.app.inject({
        method: 'GET',
        url: `/v1/videos/${taskId}`,
        headers: bearer(beta.key),
      })
      expect(other.statusCode).toBe(404)
      const listed = await second.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(alpha.key) })
      expect(listed.json().data.items.map((t: { task_id: string }) => t.task_id)).toEqual([taskId])
    } finally {
      await second.close()
      await first.close()
    }
  })
})
