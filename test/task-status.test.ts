import { afterEach, describe, expect, it } from 'vitest'
import { VIDEO_URL_VALID_MS } from '../src/tasks/status-reader.js'
import {
  bearer,
  createTask,
  makeTenant,
  manualClock,
  startTestGateway,
  type TestGateway,
} from './helpers/gateway.js'

const team = makeTenant('team')
const TASK_MS = 60_000

describe('answering status queries', () => {
  let gw: TestGateway
  afterEach(async () => {
    await gw.close()
  })

  async function setup(env: Record<string, string> = {}) {
    const clock = manualClock()
    gw = await startTestGateway({ tenants: [team], clock, env, simulator: { taskDurationMs: TASK_MS } })
    const created = await createTask(gw, team.key)
    const taskId = created.json().data.task_id as string
    const query = () =>
      gw.app.inject({ method: 'GET', url: `/v1/videos/${taskId}`, headers: bearer(team.key) })
    const upstreamQueries = () => gw.upstream.calls.filter((c) => c.operation === 'query').length
    return { clock, taskId, query, upstreamQueries }
  }

  it('answers a completed task from the store without asking the upstream again', async () => {
    const { clock, query, upstreamQueries } = await setup()
    clock.advance(TASK_MS)
    const first = await query()
    expect(first.json().data.status).toBe('completed')
    clock.advance(60 * 60_000)
    const again = await query()
    expect(again.body).toBe(first.body)
    expect(again.headers['x-gateway-source']).toBe('store')
    expect(upstreamQueries()).toBe(1)
  })

  it('asks the upstream again once the stored video link has expired', async () => {
    const { clock, query, upstreamQueries } = await setup()
    clock.advance(TASK_MS)
    await query()
    clock.advance(VIDEO_URL_VALID_MS)
    await query()
    expect(upstreamQueries()).toBe(2)
  })

  it('reuses a not-yet-final answer only within QUERY_FRESHNESS_MS', async () => {
    const { clock, query, upstreamQueries } = await setup({ QUERY_FRESHNESS_MS: '1000' })
    clock.advance(TASK_MS / 2)
    const first = await query()
    expect(first.json().data.status).toBe('processing')
    clock.advance(999)
    expect((await query()).body).toBe(first.body)
    expect(upstreamQueries()).toBe(1)
    clock.advance(1)
    await query()
    expect(upstreamQueries()).toBe(2)
  })

  it('forwards every query when QUERY_FRESHNESS_MS is 0', async () => {
    const { query, upstreamQueries } = await setup({ QUERY_FRESHNESS_MS: '0' })
    await query()
    await query()
    await query()
    expect(upstreamQueries()).toBe(3)
  })

  it('shares one upstream call among concurrent polls of one task', async () => {
    const { query, upstreamQueries } = await setup({ QUERY_FRESHNESS_MS: '0' })
    gw.upstream.failNext('query', { kind: 'delay', ms: 100 })
    const answers = await Promise.all(Array.from({ length: 100 }, () => query()))
    expect(answers.every((a) => a.statusCode === 200)).toBe(true)
    expect(upstreamQueries()).toBe(1)
  })

  it('records the last status seen so the listing shows it', async () => {
    const { clock, query } = await setup()
    clock.advance(TASK_MS)
    await query()
    const listed = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(team.key) })
    expect(listed.json().data.items[0].status).toBe('completed')
  })
})
