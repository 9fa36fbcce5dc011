import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../app.js'
import { TenantLimits } from '../../config/tenants-file.js'
import { GatewayError } from '../../errors.js'
import { tenantUsage } from '../../limits/usage.js'
import { Envelope, ErrorResponses } from '../../schemas/envelope.js'
import { CanonicalModelName } from '../../schemas/models.js'
import { TenantUsage, UsageQuery } from '../../schemas/usage.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

const TenantOverview = Type.Object({
  id: Type.String(),
  keys: Type.Array(Type.Object({ id: Type.String(), disabled: Type.Boolean() })),
  limits: TenantLimits,
  models: Type.Union([Type.Array(CanonicalModelName), Type.Null()], { description: 'null: every model' }),
  cors_origins: Type.Array(Type.String()),
})

/** Operators' view, on only when ADMIN_TOKEN is set. Key hashes never leave the server. */
export function adminRoutes(deps: Pick<Deps, 'store' | 'tenants' | 'clock'>, adminToken: string) {
  const expected = digest(adminToken)
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.addHook('onRequest', async (request) => {
      const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')
      // Comparing digests keeps the comparison constant-time whatever the length sent.
      if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
        throw new GatewayError(
          401,
          '40102',
          'the admin routes need Authorization: Bearer <ADMIN_TOKEN>',
          [],
          {
            'www-authenticate': 'Bearer',
          },
        )
      }
    })
    const security = [{ adminToken: [] }]
    app.get(
      '/tenants',
      {
        schema: {
          summary: 'Every tenant: key ids and whether each is disabled, limits, models',
          tags: ['admin'],
          security,
          response: { 200: Envelope(Type.Array(TenantOverview)), 401: ErrorResponses[401] },
        },
      },
      async () => ({
        code: '20000',
        msg: 'ok',
        data: deps.tenants.tenants().map((t) => ({
          id: t.id,
          keys: t.keys.map((k) => ({ id: k.id, disabled: k.disabled === true })),
          limits: t.limits ?? {},
          models: t.models ?? null,
          cors_origins: t.cors_origins ?? [],
        })),
      }),
    )
    app.get(
      '/usage',
      {
        schema: {
          summary: "Every tenant's usage today and over the last days, tasks in flight, quota left",
          tags: ['admin'],
          security,
          querystring: UsageQuery,
          response: { 200: Envelope(Type.Array(TenantUsage)), ...ErrorResponses },
        },
      },
      async (request) => {
        const now = deps.clock.now()
        const days = request.query.days ?? 7
        const data = await Promise.all(
          deps.tenants.tenants().map((t) => tenantUsage(deps.store, t, days, now)),
        )
        return { code: '20000', msg: 'ok', data }
      },
    )
  }
  return plugin
}
