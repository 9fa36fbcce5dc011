import cors from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TenantRegistry } from '../tenants/registry.js'

const EXPOSED_HEADERS = [
  'X-Request-Id',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'Idempotent-Replayed',
  'X-Gateway-Source',
].join(', ')

/**
 * Browsers, preflight: a preflight from an origin some tenant lists is answered with exactly the
 * methods and headers the routes need; never a wildcard. Registered without fastify-plugin on
 * purpose: @fastify/cors's hook then runs only for its own OPTIONS route. On every request it cost
 * about 4 % of the forwarding path's CPU, for the three headers `corsHeaders` sets instead.
 */
export async function corsPreflight(app: FastifyInstance, { registry }: { registry: TenantRegistry }) {
  await app.register(cors, {
    origin: (origin, allow) => allow(null, origin !== undefined && registry.listsOrigin(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  })
}

/**
 * Browsers, real requests: an origin some tenant lists may read the answer (errors included) and the
 * headers above. Whether the request's own tenant lists it is checked after authentication
 * (tenants/auth.ts), since only then is the tenant known. Every answer varies by Origin.
 */
export function corsHeaders(registry: TenantRegistry) {
  return (request: FastifyRequest, reply: FastifyReply): void => {
    reply.header('vary', 'Origin')
    const origin = request.headers.origin
    if (origin !== undefined && registry.listsOrigin(origin)) {
      reply.header('access-control-allow-origin', origin)
      reply.header('access-control-expose-headers', EXPOSED_HEADERS)
    }
  }
}
