import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bearer, makeTenant, startTestGateway, type TestGateway, UPSTREAM_TEST_TOKEN } from './helpers/gateway.js'

const marketing = makeTenant('marketing')

describe('POST /v1/gemini/omni/videos as the upstream sees it', () => {
  let gw: TestGateway
  beforeEach(async () => {
    gw = await startTestGateway({ tenants: [marketing] })
  })
  afterEach(async () => {
    await gw.close()
  })

  const create = (payload: object, headers: Record<string, string> = {}) =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/gemini/omni/videos',
      headers: { ...bearer(marketing.key), ...headers },
      payload,
    })

  it('rewrites an alias to Gemini-Omini and sends the server token upstream', async () => {
    const res = await create({ model: 'gemini-omni', prompt: 'a red kite' })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.task_id).toMatch(/^sim_/)
    const call = gw.upstream.calls[0]
    expect(call?.body).toEqual({ model: 'Gemini-Omini', prompt: 'a red kite' })
    expect(call?.headers.authorization).toBe(`Bearer ${UPSTREAM_TEST_TOKEN}`)
  })

  it('answers the upstream body unchanged', async () => {
    const res = await create({ model: 'Omni-Flash-Ext', prompt: 'a red kite' })
    const upstreamAnswer = res.json()
    expect(Object.keys(upstreamAnswer)).toEqual(['code', 'msg', 'data'])
    expect(Object.keys(upstreamAnswer.data)).toEqual(['task_id', 'status', 'model', 'created_at'])
  })
})
