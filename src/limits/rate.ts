import rateLimit from '@fastify/rate-limit'
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { GatewayError } from '../errors.js'
import { storeUnavailable } from '../store/unavailable.js'

export interface RateLimitStore {
  incr(
    key: string,
    cb: (err: Error | null, result?: { current: number; ttl: number }) => void,
    timeWindow?: number,
    max?: number,
  ): void
  child?(options: unknown): RateLimitStore
}

export type RateBudget = 'create' | 'query'

const budgetLimit = (request: FastifyRequest, budget: RateBudget) => {
  const limits = request.principal?.tenant.limits
  return budget === 'create' ? limits?.create_per_minute : limits?.query_per_minute
}

/**
 * One counter per tenant and budget, whichever path (with or without /api/open-api) was called:
 * the plugin's own stores would keep one per route URL, and a tenant could double its limit.
 */
function perTenantStore(inner: RateLimitStore) {
  return class {
    incr: RateLimitStore['incr'] = (key, cb, timeWindow, max) =>
      inner.incr(key, (err, result) => (err ? cb(storeUnavailable(err)) : cb(null, result)), timeWindow, max)
    child() {
      return this
    }
  }
}

export const rateLimits = fp(async (app: FastifyInstance, options: { redis?: Redis; keyPrefix: string }) => {
  const inner = options.redis
    ? new RedisStore(false, false, options.redis, `${options.keyPrefix}rate:`)
    : new LocalStore(false, false, 10_000)
  await app.register(rateLimit, {
    global: false,
    store: perTenantStore(inner),
    errorResponseBuilder: (_request, context) =>
      new GatewayError(
        429,
        '42901',
        `rate limit of ${context.max} requests per minute reached; retry in ${context.after}`,
      ),
  })
})

/**
 * onRequest hook, after authentication: counts every request of the tenant against the budget
 * (contract §5 order). A tenant without that limit skips the plugin's hook altogether: it costs
 * several awaits and a route-options copy per request, on the hottest routes.
 */
export function perMinuteLimit(app: FastifyInstance, budget: RateBudget): onRequestHookHandler {
  const limited = app.rateLimit({
    timeWindow: 60_000,
    max: (request: FastifyRequest) => budgetLimit(request, budget) ?? 0,
    keyGenerator: (request: FastifyRequest) => `${budget}:${request.principal?.tenant.id}`,
  })
  return function perMinute(request, reply, done) {
    if (budgetLimit(request, budget) === undefined) return done()
    limited.call(app, request, reply).then(() => done(), done)
  }
}
