import { describe, expect, it } from 'vitest'
import { ConfigError } from '../src/config/config-error.js'
import { parseTenantsFile } from '../src/config/tenants-file.js'
import { bearer, makeTenant, startTestGateway } from './helpers/gateway.js'
import { rememberSecret } from './helpers/secrets.js'
import { newSecret } from './helpers/webhook-receiver.js'

describe('webhook settings', () => {
  const file = (extra: Record<string, unknown>) =>
    JSON.stringify({ tenants: [{ id: 'acme', keys: [], ...extra }] })
  const secret = newSecret()

  it('accept an http(s) webhook_url with one or more whsec_ secrets', () => {
    const parsed = parseTenantsFile(
      file({
        webhook_url: 'https://hooks.example.com/omni?team=a',
        webhook_secrets: [secret, newSecret(24)],
      }),
      'tenants.json',
    )
    expect(parsed.tenants[0]?.webhook_secrets).toHaveLength(2)
  })

  it.each([
    [{ webhook_url: 'https://hooks.example.com/x' }, /tenant "acme" has webhook_url but no webhook_secrets/],
    [{ webhook_secrets: [secret] }, /tenant "acme" has webhook_secrets but no webhook_url/],
    [{ webhook_url: 'ftp://hooks.example.com/x', webhook_secrets: [secret] }, /webhook_url must be/],
    [{ webhook_url: 'https://u:p@hooks.example.com/x', webhook_secrets: [secret] }, /credentials/],
    [{ webhook_url: 'https://hooks.example.com/x', webhook_secrets: [] }, /webhook_secrets/],
    [{ webhook_url: 'https://hooks.example.com/x', webhook_secrets: [newSecret(16)] }, /24-64 bytes/],
    [
      { webhook_url: 'https://hooks.example.com/x', webhook_secrets: ['hunter2-not-a-secret'] },
      /webhook_secrets/,
    ],
  ])('refuse %j with a line naming the fault', (extra, message) => {
    let error: unknown
    try {
      parseTenantsFile(file(extra), 'tenants.json')
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(message)
    for (const given of (extra as { webhook_secrets?: string[] }).webhook_secrets ?? []) {
      expect((error as Error).message).not.toContain(given)
    }
  })

  it('never show the secrets in /admin/tenants', async () => {
    const adminToken = rememberSecret('admin-token-for-webhook-tests-0123')
    const tenant = makeTenant('hooked', {
      webhook_url: 'https://hooks.example.com/x',
      webhook_secrets: [secret],
    })
    const gw = await startTestGateway({ tenants: [tenant], env: { ADMIN_TOKEN: adminToken } })
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/admin/tenants', headers: bearer(adminToken) })
      expect(res.statusCode).toBe(200)
      expect(res.body).not.toContain(secret)
      expect(res.body).not.toContain('whsec_')
    } finally {
      await gw.close()
    }
  })
})
