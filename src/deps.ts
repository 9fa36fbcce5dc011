import type { FastifyBaseLogger } from 'fastify'
import type { Deps } from './app.js'
import { ConfigError } from './config/config-error.js'
import type { Config } from './config/env.js'
import { readTenantsFile } from './config/tenants-file.js'
import { CIRCUIT_STATE_VALUES, createMetrics } from './observability/metrics.js'
import { openSqliteStore } from './store/sqlite.js'
import { withTaskCache } from './store/task-cache.js'
import { TenantRegistry } from './tenants/registry.js'
import { createUpstreamClient } from './upstream/client.js'

function openSqlite(dataDir: string) {
  try {
    return { store: withTaskCache(openSqliteStore(dataDir)), redis: undefined }
  } catch (err) {
    throw new ConfigError(`DATA_DIR ${dataDir} cannot hold the store: ${(err as Error).message}`)
  }
}

async function openRedis(url: string, prefix: string, logger: FastifyBaseLogger) {
  // Loaded only when REDIS_URL is set: ioredis alone weighs about 20 MB of memory.
  const { connectRedis, redisStore } = await import('./store/redis.js')
  const redis = connectRedis(url)
  // ioredis reports every failed reconnect; the log gets one line when Redis goes and one when it is back.
  let reachable = true
  redis.on('error', (err: Error) => {
    if (reachable)
      logger.warn({ reason: err.message }, 'Redis unreachable; limited routes answer 503 until it is back')
    reachable = false
  })
  redis.on('ready', () => {
    if (!reachable) logger.info('Redis reachable again')
    reachable = true
  })
  try {
    await redis.connect()
  } catch (err) {
    redis.disconnect()
    throw new ConfigError(`REDIS_URL cannot be reached: ${(err as Error).message}`)
  }
  return { store: withTaskCache(redisStore(redis, prefix)), redis }
}

/** Wires the real dependencies from configuration; throws ConfigError for anything the operator must fix. */
export async function createDeps(config: Config, logger: FastifyBaseLogger): Promise<Deps> {
  const tenants = new TenantRegistry(await readTenantsFile(config.tenantsFile))
  const { store, redis } = config.redisUrl
    ? await openRedis(config.redisUrl, config.redisKeyPrefix, logger)
    : openSqlite(config.dataDir)
  const metrics = createMetrics()
  const upstream = createUpstreamClient({
    baseUrl: config.upstreamBaseUrl,
    apiKey: config.upstreamApiKey,
    timeoutMs: config.upstreamTimeoutMs,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    keepAliveMs: config.upstreamKeepAliveMs,
    connections: config.upstreamConnections,
    queryRetries: config.upstreamQueryRetries,
    circuitResetMs: config.upstreamCircuitResetMs,
    onRetry(operation, attempt, reason) {
      metrics.upstreamRetries.inc({ operation })
      logger.warn({ operation, attempt, reason }, 'retrying the upstream')
    },
    onCircuitChange(state) {
      metrics.circuitState.set(CIRCUIT_STATE_VALUES[state])
      logger[state === 'open' ? 'error' : 'info']({ circuit: state }, `upstream circuit ${state}`)
    },
  })
  return { store, redis, upstream, tenants, clock: Date, metrics, logger }
}

export async function closeDeps(deps: Deps): Promise<void> {
  await deps.upstream.close()
  await deps.store.close()
}
