import { afterEach, describe, expect, it } from 'vitest'
import { bearer, makeTenant, startTestGateway, type TestGateway, validCreate } from './helpers/gateway.js'
import { rememberSecret } from './helpers/secrets.js'

const ADMIN_TOKEN = rememberSecret('admin-token-for-tests-0123456789')
const acme = makeTenant('acme', {
  limits: { daily_video_seconds: 60, max_concurrent_tasks: 3 },
  models: ['Gemini-Omini'],
})
const beta = makeTenant('beta')
beta.entry.keys.push({ id: 'beta-old', sha256: 'a'.repeat(64), disabled: true })

describe('admin routes', () => {
  let gw: TestGateway
  afterEach(async () => {
    await gw.close()
  })

  it('do not exist when ADMIN_TOKEN is unset', async () => {
    gw = await startTestGateway({ tenants: [acme, beta] })
    const res = await gw.app.inject({ method: 'GET', url: '/admin/tenants', headers: bearer(ADMIN_TOKEN) })
    expect(res.statusCode).toBe(404)
  })

  it.each([
    ['no token', {}],
    ['a wrong token', bearer('admin-token-for-tests-0123456780')],
    ['a tenant key', bearer(acme.key)],
  ])('answer 401 to %s', async (_name, headers) => {
    gw = await startTestGateway({ tenants: [acme, beta], env: { ADMIN_TOKEN } })
    for (const url of ['/admin/tenants', '/admin/usage']) {
      const res = await gw.app.inject({ method: 'GET', url, headers })
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ code: '40102', data: null })
    }
  })

  it('list every tenant with key ids, disabled flags, limits and models, never a key hash', async () => {
    gw = await startTestGateway({ tenants: [acme, beta], env: { ADMIN_TOKEN } })
    const res = await gw.app.inject({ method: 'GET', url: '/admin/tenants', headers: bearer(ADMIN_TOKEN) })
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toEqual([
      {
        id: 'acme',
        keys: [{ id: 'acme-key', disabled: false }],
        limits: { daily_video_seconds: 60, max_concurrent_tasks: 3 },
        models: ['Gemini-Omini'],
        cors_origins: [],
      },
      {
        id: 'beta',
        keys: [
          { id: 'beta-key', disabled: false },
          { id: 'beta-old', disabled: true },
        ],
        limits: {},
        models: null,
        cors_origins: [],
      },
    ])
    for (const key of [...acme.entry.keys, ...beta.entry.keys]) expect(res.body).not.toContain(key.sha256)
  })

  it("show every tenant's usage today, tasks in flight and quota left", async () => {
    gw = await startTestGateway({ tenants: [acme, beta], env: { ADMIN_TOKEN } })
    const create = (key: string, duration: number) =>
      gw.app.inject({
        method: 'POST',
        url: '/v1/gemini/omni/videos',
        headers: bearer(key),
        payload: { ...validCreate, duration },
      })
    await create(acme.key, 8)
    await create(beta.key, 4)
    const res = await gw.app.inject({
      method: 'GET',
      url: '/admin/usage?days=1',
      headers: bearer(ADMIN_TOKEN),
    })
    expect(res.statusCode).toBe(200)
    const byTenant = Object.fromEntries(res.json().data.map((u: { tenant: string }) => [u.tenant, u]))
    expect(byTenant.acme.today).toEqual({ video_seconds_used: 8, video_seconds_left: 52, tasks_in_flight: 1 })
    expect(byTenant.beta.today).toEqual({
      video_seconds_used: 4,
      video_seconds_left: null,
      tasks_in_flight: 1,
    })
    expect(byTenant.acme.days).toHaveLength(1)
  })
})
