import { buildApp } from './app.js'
import { loadConfig } from './config/env.js'
import { createLogger } from './observability/logger.js'
import { createMetrics } from './observability/metrics.js'
import type { GatewayStore } from './store/types.js'
import { TenantRegistry } from './tenants/registry.js'
import type { UpstreamClient } from './upstream/client.js'

const unused = () => {
  throw new Error('the OpenAPI build never serves a request')
}

/** The document as the app generates it, pretty-printed; nothing is listened on or opened. */
export async function buildOpenApiDocument(): Promise<string> {
  const config = loadConfig({
    UPSTREAM_API_KEY: 'unused-for-docs',
    ADMIN_TOKEN: 'unused-for-docs-admin-token',
    BROWSER_TOKEN_SECRET: 'unused-for-docs-browser-token-secret',
  })
  const app = await buildApp(config, {
    store: new Proxy({} as GatewayStore, { get: () => unused }),
    upstream: new Proxy({} as UpstreamClient, { get: () => unused }),
    tenants: new TenantRegistry({ tenants: [] }),
    clock: Date,
    metrics: createMetrics(),
    logger: createLogger('silent'),
  })
  await app.ready()
  const document = `${JSON.stringify(app.swagger(), null, 2)}\n`
  await app.close()
  return document
}
