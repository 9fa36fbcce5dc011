import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'

/**
 * The baseline: a bare Fastify + @fastify/http-proxy forwarding /api/open-api/* to the simulator
 * with the upstream token set by the proxy. No auth, no validation, no store, no logging: the
 * least a gateway can do. Prints one JSON line {"url"} once it listens.
 *
 * env: PROXY_UPSTREAM (simulator origin), PROXY_TOKEN (the upstream token), PORT (default 0).
 */
const upstream = process.env.PROXY_UPSTREAM
const token = process.env.PROXY_TOKEN
if (!upstream || !token) {
  process.stderr.write('PROXY_UPSTREAM and PROXY_TOKEN are required\n')
  process.exit(1)
}
const authorization = `Bearer ${token}`

const app = Fastify({ logger: false })
await app.register(proxy, {
  upstream,
  prefix: '/api/open-api',
  rewritePrefix: '/api/open-api',
  replyOptions: {
    rewriteRequestHeaders: (_request, headers) => ({ ...headers, authorization }),
  },
})
app.get('/healthz', async () => ({ ok: true }))

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ url: address })}\n`)

const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
