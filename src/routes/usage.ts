import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../app.js'
import { perMinuteLimit } from '../limits/rate.js'
import { tenantUsage } from '../limits/usage.js'
import { ErrorResponses } from '../schemas/envelope.js'
import { UsageEnvelope, UsageQuery } from '../schemas/usage.js'
import { type Authenticate, principalOf } from '../tenants/auth.js'

export function usageRoute(deps: Pick<Deps, 'store' | 'clock'>, authenticate: Authenticate) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/v1/usage',
      {
        onRequest: [authenticate, perMinuteLimit(app, 'query')],
        schema: {
          summary: "The caller's tenant's usage and what is left today",
          description:
            'Tasks and billable seconds per UTC day and model, the limits in force, and today’s room.',
          tags: ['usage'],
          security: [{ tenantKey: [] }],
          querystring: UsageQuery,
          response: { 200: UsageEnvelope, ...ErrorResponses },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request)
        const data = await tenantUsage(deps.store, tenant, request.query.days ?? 7, deps.clock.now())
        return { code: '20000', msg: 'ok', data }
      },
    )
  }
  return plugin
}
