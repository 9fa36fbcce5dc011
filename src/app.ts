import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { Config } from './config/env.js'
import { envelope, GatewayError, toGatewayError } from './errors.js'
import { type Metrics, rejectionReason } from './observability/metrics.js'
import { lazyRequestLogger } from './observability/request-logger.js'
import { adminRoutes } from './routes/admin/index.js'
import { corsHeaders, corsPreflight } from './routes/cors.js'
import { docsRoutes, openApi } from './routes/docs.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoute } from './routes/metrics.js'
import { UPSTREAM_PREFIX } from './routes/prefix.js'
import { videoCreateRoute } from './routes/videos/create.js'
import { videoEventsRoute } from './routes/videos/events.js'
import { videoListRoute } from './routes/videos/list.js'
import { videoQueryRoute } from './routes/videos/query.js'
import { ErrorEnvelope } from './schemas/envelope.js'
import { TaskRefresher } from './tasks/refresher.js'
import { TaskStatusReader } from './tasks/status-reader.js'
import { TaskWatcher } from './tasks/watcher.js'
import { WebhookDispatcher } from './webhooks/dispatcher.js'
import './schemas/messages.js'
import type { Redis } from 'ioredis'
import { rateLimits } from './limits/rate.js'
import { browserTokenRoute } from './routes/browser-tokens.js'
import { usageRoute } from './routes/usage.js'
import { validatorCompiler } from './schemas/validator.js'
import type { GatewayStore } from './store/types.js'
import { tenantAuth } from './tenants/auth.js'
import type { TenantRegistry } from './tenants/registry.js'
import type { UpstreamClient } from './upstream/client.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The envelope code of the error this request was answered with, for the log line and metrics. */
    errorCode: string | undefined
  }
}

export interface Clock {
  now(): number
}

export interface Deps {
  store: GatewayStore
  upstream: UpstreamClient
  tenants: TenantRegistry
  clock: Clock
  metrics: Metrics
  logger: FastifyBaseLogger
  /** Set when REDIS_URL is: rate limits then count in Redis too. */
  redis?: Redis
}

const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID()
}

export async function buildApp(config: Config, deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: config.bodyLimitBytes,
    // Fastify's own 503 while closing is not the contract's envelope and has no X-Request-Id.
    return503OnClosing: false,
  })
  app.setValidatorCompiler(validatorCompiler)
  // Fastify parses text/plain by default; the contract answers 415 to anything but JSON.
  app.removeContentTypeParser('text/plain')
  app.decorateRequest('principal', null)
  app.decorateRequest('upstreamMs', undefined)
  app.decorateRequest('errorCode', undefined)
  app.addSchema(ErrorEnvelope)

  // Callback hooks, not async ones: they run on every request, and a promise each is measurable.
  const setCorsHeaders = corsHeaders(deps.tenants)
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    setCorsHeaders(request, reply)
    // A request that still arrives on an open connection while the gateway stops: another replica can take it.
    if (closing)
      return done(
        new GatewayError(503, '50304', 'the gateway is shutting down; retry', [], { 'retry-after': '1' }),
      )
    done()
  })
  // The level is set once at start: decided here, a quiet gateway builds no log object per request.
  const logsRequests = ['info', 'debug', 'trace'].includes(deps.logger.level)
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const reason = rejectionReason(request.errorCode)
    if (reason) deps.metrics.rejections.inc({ tenant: request.principal?.tenant.id ?? 'unknown', reason })
    deps.metrics.httpDuration.observe(
      reply.elapsedTime / 1000,
      request.method,
      route,
      String(reply.statusCode),
    )
    if (logsRequests)
      deps.logger.info(
        {
          reqId: request.id,
          tenant: request.principal?.tenant.id,
          keyId: request.principal?.keyId,
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          upstreamMs: request.upstreamMs,
          code: request.errorCode,
        },
        'request',
      )
    done()
  })
  app.setErrorHandler((err, request, reply) => {
    const e = toGatewayError(err)
    request.errorCode = e.code
    if (e.status >= 500) request.log.error({ err, cause: e.cause }, e.message)
    return reply.code(e.status).headers(e.headers).send(envelope(e, request.id))
  })
  app.setNotFoundHandler(async (request) => {
    throw new GatewayError(404, '40402', `no route ${request.method} ${request.url.split('?')[0]}`)
  })

  await app.register(openApi)
  await app.register(corsPreflight, { registry: deps.tenants })
  await app.register(rateLimits, { redis: deps.redis, keyPrefix: config.redisKeyPrefix })
  // fast-jwt is loaded only when browser tokens are on.
  const tokens =
    config.browserTokenSecret === undefined
      ? undefined
      : (await import('./tenants/browser-tokens.js')).browserTokens(
          config.browserTokenSecret,
          deps.clock,
          deps.tenants,
        )
  const auth = tenantAuth(deps.tenants, tokens)
  // Background work: webhooks of finished tasks, and a refresher that finds ends nobody polls for.
  const webhooks = new WebhookDispatcher(deps, config)
  const statusReader = new TaskStatusReader(deps, config, {
    onFinal: (_task, notified) => {
      if (notified) webhooks.wake()
    },
  })
  const refresher = new TaskRefresher(deps, config, statusReader)
  app.addHook('onReady', async () => {
    webhooks.start()
    refresher.start()
  })
  app.addHook('onClose', async () => {
    await refresher.stop()
    await webhooks.stop()
  })
  const watcher = new TaskWatcher({ store: deps.store, log: deps.logger }, statusReader, config.eventsPollMs)
  app.addHook('preClose', async () => watcher.close())
  const routes = async (scope: FastifyInstance) => {
    await scope.register(videoCreateRoute(deps, config, auth.keysOrTokens))
    await scope.register(videoQueryRoute(deps, statusReader, auth.keysOrTokens))
    await scope.register(videoListRoute(deps, auth.keysOrTokens))
    await scope.register(
      videoEventsRoute(deps, watcher, config.eventsMaxLifetimeMs, auth.keysOrTokensInQuery),
    )
    await scope.register(usageRoute(deps, auth.keys))
    if (tokens) await scope.register(browserTokenRoute(tokens, auth.keys))
    await scope.register(healthRoutes(deps))
    if (config.metricsPort === undefined) await scope.register(metricsRoute(deps.metrics))
    if (config.adminToken !== undefined)
      await scope.register(adminRoutes(deps, config.adminToken), { prefix: '/admin' })
  }
  await app.register(routes)
  await app.register(routes, { prefix: UPSTREAM_PREFIX })
  await app.register(docsRoutes)
  return app
}
