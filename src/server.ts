import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import closeWithGrace from 'close-with-grace'
import Fastify, { LogController } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError } from './config/config-error.js'
import { loadConfig } from './config/env.js'
import { closeDeps, createDeps } from './deps.js'
import { createLogger } from './observability/logger.js'
import { metricsRoute } from './routes/metrics.js'
import { reloadTenants } from './tenants/reload.js'

function refuseToStart(message: string): never {
  // One line, whatever the message holds (a JSON parser's message may quote several lines of the file).
  process.stderr.write(`omni-gateway: cannot start: ${message.replace(/\s*[\r\n]+\s*/g, ' ')}\n`)
  process.exit(1)
}

/**
 * Fastify's close() stops accepting and closes idle connections, then waits for the open ones. A
 * keep-alive connection whose request is still running would stay open after its answer and hold the
 * shutdown until the grace period kills the process. The returned function, called when shutdown
 * begins, makes the answer of every request in flight, and of any that still arrives, close its
 * connection. Connections are tracked, not requests: a listener per request cost ~8 % of the CPU of
 * a cached poll.
 */
function closeConnectionsOnShutdown(server: Server): () => void {
  const connections = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
  })
  const closeAfterAnswer = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close')
    // An answer whose headers already went out still leaves an idle connection behind: close it then.
    res.once('finish', () => setImmediate(() => server.closeIdleConnections()))
  }
  return () => {
    server.on('request', (_req, res: ServerResponse) => closeAfterAnswer(res))
    for (const socket of connections) {
      // The answer in progress on this connection: Node's own field, read the same way by http-terminator.
      const answer = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
      if (answer) closeAfterAnswer(answer)
    }
  }
}

async function main() {
  const config = loadConfig(process.env)
  const logger = createLogger(config.logLevel)
  const deps = await createDeps(config, logger)
  const app = await buildApp(config, deps)
  const metricsApp =
    config.metricsPort === undefined
      ? undefined
      : Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) })
  await metricsApp?.register(metricsRoute(deps.metrics))

  const beginShutdown = closeConnectionsOnShutdown(app.server)
  const onTimeout = () => {
    // The contract's shutdown ends with 0 either way; the log says that answers were cut short.
    logger.error(
      { graceMs: config.shutdownGraceMs },
      'grace period over; exiting with requests still in flight',
    )
    process.exit(0)
  }
  closeWithGrace(
    { delay: config.shutdownGraceMs, logger, skip: ['SIGHUP'], onTimeout },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, 'crashed; shutting down')
      else logger.info({ signal }, 'shutting down: finishing requests in flight')
      beginShutdown()
      await metricsApp?.close()
      await app.close()
      await closeDeps(deps)
      logger.info('stopped')
    },
  )
  // One reload at a time, in signal order: a slow read must not overwrite a newer one.
  let reloading = Promise.resolve(true)
  process.on('SIGHUP', () => {
    reloading = reloading.then(() => reloadTenants(deps.tenants, config.tenantsFile, logger))
  })

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
