import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { fieldError } from '../errors.js'
import { perMinuteLimit } from '../limits/rate.js'
import { MintedToken, MintTokenBody } from '../schemas/browser-tokens.js'
import { ErrorResponses } from '../schemas/envelope.js'
import { type Authenticate, principalOf } from '../tenants/auth.js'
import type { BrowserTokens } from '../tenants/browser-tokens.js'

export function browserTokenRoute(tokens: BrowserTokens, authenticate: Authenticate) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.post(
      '/v1/browser-tokens',
      {
        onRequest: [authenticate, perMinuteLimit(app, 'query')],
        schema: {
          summary: 'Mint a short-lived token for a web page',
          description:
            'Called server-side with the tenant key. The token works on create, query, list and events, never here, on usage or admin; revoking the minting key revokes it.',
          tags: ['browser'],
          security: [{ tenantKey: [] }],
          body: MintTokenBody,
          response: { 200: MintedToken, ...ErrorResponses, 403: ErrorResponses[400] },
        },
      },
      async (request) => {
        const principal = principalOf(request)
        const { origin, max_creates: maxCreates, ttl_seconds: ttlSeconds } = request.body ?? {}
        if (origin !== undefined && !principal.tenant.cors_origins?.includes(origin)) {
          throw fieldError('/origin', `must be one of tenant ${principal.tenant.id}'s cors_origins`)
        }
        const minted = tokens.mint(principal, { ttlSeconds, origin, maxCreates })
        return {
          code: '20000',
          msg: 'ok',
          data: {
            token: minted.token,
            expires_at: minted.expiresAt,
            tenant: principal.tenant.id,
            origin: origin ?? null,
            max_creates: maxCreates ?? null,
          },
        }
      },
    )
  }
  return plugin
}
