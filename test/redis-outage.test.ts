import { setTimeout } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bearer, createTask, makeTenant, startTestGateway, type TestGateway } from './helpers/gateway.js'
import { TEST_REDIS_URL, uniquePrefix } from './helpers/stores.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'

const team = makeTenant('team', { limits: { create_per_minute: 100, max_concurrent_tasks: 10 } })

describe('when Redis is unreachable', () => {
  let gw: TestGateway
  let proxy: TcpProxy
  beforeEach(async () => {
    const target = new URL(TEST_REDIS_URL)
    proxy = await startTcpProxy(target.hostname, Number(target.port || 6379))
    gw = await startTestGateway({
      tenants: [team],
      env: { REDIS_URL: proxy.url('redis'), REDIS_KEY_PREFIX: uniquePrefix() },
    })
  })
  afterEach(async () => {
    await gw.close()
    await proxy.close()
  })

  const create = () => createTask(gw, team.key)
  const ready = () => gw.app.inject({ method: 'GET', url: '/readyz' })
  const untilReady = async () => {
    for (let i = 0; i < 100 && (await ready()).statusCode !== 200; i++) await setTimeout(50)
  }

  it('says 503 at /readyz and refuses creates with 503 without calling the upstream', async () => {
    const taskId = (await create()).json().data.task_id
    await proxy.cut()
    expect((await ready()).statusCode).toBe(503)
    const refused = await create()
    expect(refused.statusCode).toBe(503)
    expect(refused.json()).toMatchObject({ code: '50303', data: null })
    expect(refused.headers['retry-after']).toBe('5')
    expect(gw.upstream.calls.filter((c) => c.operation === 'create')).toHaveLength(1)
    const query = await gw.app.inject({
      method: 'GET',
      url: `/v1/videos/${taskId}`,
      headers: bearer(team.key),
    })
    expect(query.statusCode).toBe(503)
  })

  it('serves again once Redis is back', async () => {
    await proxy.cut()
    expect((await create()).statusCode).toBe(503)
    await proxy.restore()
    await untilReady()
    expect((await create()).statusCode).toBe(200)
  })

  it('keeps a task the upstream accepted while Redis blinked', async () => {
    gw.upstream.failNext('create', { kind: 'delay', ms: 200 })
    const pending = create()
    await setTimeout(100)
    await proxy.cut()
    await setTimeout(300)
    await proxy.restore()
    const res = await pending
    expect(res.statusCode).toBe(200)
    const taskId = res.json().data.task_id
    const query = await gw.app.inject({
      method: 'GET',
      url: `/v1/videos/${taskId}`,
      headers: bearer(team.key),
    })
    expect(query.statusCode).toBe(200)
  })
})
