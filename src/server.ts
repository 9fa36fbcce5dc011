import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import { buildApp } from './app.js'
import { ConfigError } from './config/config-error.js'
import { loadConfig } from './config/env.js'
import { closeDeps, createDeps } from './deps.js'
import { createLogger } from './observability/logger.js'
import { metricsRoute } from './routes/metrics.js'
import { reloadTenants } from './tenants/reload.js'

function refuseToStart(message: string): never {
  process.stderr.write(`omni-gateway: cannot start: ${message}\n`)
  process.exit(1)
}

async function main() {
  const config = loadConfig(process.env)
  const logger = createLogger(config.logLevel)
  const deps = await createDeps(config, logger)
  const app = await buildApp(config, deps)
  const metricsApp = config.metricsPort === undefined ? undefined : Fastify({ loggerInstance: logger })
  await metricsApp?.register(metricsRoute(deps.metrics))

  closeWithGrace({ delay: config.shutdownGraceMs, logger, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'crashed; shutting down')
    else logger.info({ signal }, 'shutting down: finishing requests in flight')
    await metricsApp?.close()
    await app.close()
    await closeDeps(deps)
    logger.info('stopped')
  })
  process.on('SIGHUP', () => void reloadTenants(deps.tenants, config.tenantsFile, logger))

  try {
    await app.listen({ port: config.port, host: config.host })
    if (metricsApp) await metricsApp.listen({ port: config.metricsPort, host: config.host })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE')
      throw new ConfigError(`PORT or METRICS_PORT is already in use (${e.message})`)
    if (e.code === 'EACCES') throw new ConfigError(`HOST/PORT cannot be bound here (${e.message})`)
    throw err
  }
}

main().catch((err) => {
  if (err instanceof ConfigError) refuseToStart(err.message)
  refuseToStart(`unexpected error: ${(err as Error).message}`)
})
