import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { TenantRegistry } from '../tenants/registry.js'

/**
 * Browsers: a preflight from an origin some tenant lists is answered with exactly the methods and
 * headers the routes need; never a wildcard. Whether the real request's tenant lists the origin is
 * checked after authentication (tenants/auth.ts), since only then is the tenant known.
 */
export const tenantCors = fp(async (app: FastifyInstance, { registry }: { registry: TenantRegistry }) => {
  await app.register(cors, {
    origin: (origin, allow) => allow(null, origin !== undefined && registry.listsOrigin(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
    exposedHeaders: [
      'X-Request-Id',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'Retry-After',
      'Idempotent-Replayed',
      'X-Gateway-Source',
    ],
    credentials: false,
    maxAge: 600,
  })
})
