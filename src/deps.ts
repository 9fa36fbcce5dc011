import type { FastifyBaseLogger } from 'fastify'
import type { Deps } from './app.js'
import { ConfigError } from './config/config-error.js'
import type { Config } from './config/env.js'
import { readTenantsFile } from './config/tenants-file.js'
import { createMetrics } from './observability/metrics.js'
import { openSqliteStore } from './store/sqlite.js'
import { TenantRegistry } from './tenants/registry.js'
import { createUpstreamClient } from './upstream/client.js'

/** Wires the real dependencies from configuration; throws ConfigError for anything the operator must fix. */
export async function createDeps(config: Config, logger: FastifyBaseLogger): Promise<Deps> {
  const tenants = new TenantRegistry(await readTenantsFile(config.tenantsFile))
  let store: Deps['store']
  try {
    store = openSqliteStore(config.dataDir)
  } catch (err) {
    throw new ConfigError(`DATA_DIR ${config.dataDir} cannot hold the store: ${(err as Error).message}`)
  }
  const upstream = createUpstreamClient({
    baseUrl: config.upstreamBaseUrl,
    apiKey: config.upstreamApiKey,
    timeoutMs: config.upstreamTimeoutMs,
    connections: config.upstreamConnections,
  })
  return { store, upstream, tenants, clock: Date, metrics: createMetrics(), logger }
}

export async function closeDeps(deps: Deps): Promise<void> {
  await deps.upstream.close()
  await deps.store.close()
}
