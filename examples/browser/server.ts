/**
 * The backend half of the browser example: serves the page and mints browser tokens for it.
 *
 * The tenant key stays here, on the server. The page only ever sees a short-lived browser token,
 * bound to the origin the page is served from and good for one create. A real backend would first
 * check who its user is (session cookie, login) before minting; this example mints for anyone who
 * can load the page.
 *
 *   GATEWAY_URL=http://127.0.0.1:8080 TENANT_KEY=... PORT=8090 npm run example:browser
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'

export interface ExampleServerOptions {
  /** The gateway's origin, e.g. http://127.0.0.1:8080; the page calls it directly. */
  gatewayUrl: string
  /** The tenant key the backend mints with; never sent to the page. */
  tenantKey: string
  /** Default 8090; 0 picks a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Bind each token to the origin the page was served from (default true). */
  bindOrigin?: boolean
  /** Creates one token allows (default 1: the page mints a token per video). */
  maxCreates?: number
  /** Token lifetime in seconds (default 600; the gateway allows at most 3600). */
  ttlSeconds?: number
}

export interface ExampleServer {
  /** Origin the page is served from, e.g. http://127.0.0.1:8090 */
  url: string
  port: number
  close(): Promise<void>
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json') {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  res.end(payload)
}

export async function startExampleServer(options: ExampleServerOptions): Promise<ExampleServer> {
  const gatewayUrl = options.gatewayUrl.replace(/\/+$/, '')
  const bindOrigin = options.bindOrigin ?? true

  /** POST /token: mint a browser token with the tenant key, server-side. */
  async function mint(req: IncomingMessage, res: ServerResponse) {
    // The page's own origin, as the browser sees it; the gateway refuses to bind a token to an
    // origin the tenant does not list in cors_origins.
    const pageOrigin = `http://${req.headers.host}`
    const origin = req.headers.origin
    if (origin !== undefined && origin !== pageOrigin) {
      send(res, 403, { error: `this backend mints tokens only for its own page (${pageOrigin})` })
      return
    }
    let answer: Response
    try {
      answer = await fetch(`${gatewayUrl}/v1/browser-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.tenantKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          ttl_seconds: options.ttlSeconds ?? 600,
          max_creates: options.maxCreates ?? 1,
          ...(bindOrigin ? { origin: pageOrigin } : {}),
        }),
        signal: AbortSignal.timeout(10_000),
      })
    } catch (err) {
      send(res, 502, { error: `cannot reach the gateway at ${gatewayUrl}: ${(err as Error).message}` })
      return
    }
    const body = (await answer.json().catch(() => null)) as {
      code?: string
      msg?: string
      data?: { token: string; expires_at: number; origin: string | null; max_creates: number | null }
    } | null
    if (!answer.ok || !body?.data) {
      send(res, 502, {
        error:
          `the gateway refused to mint a token: HTTP ${answer.status} ${body?.code ?? ''} ${body?.msg ?? ''}`.trim(),
      })
      return
    }
    send(res, 200, {
      token: body.data.token,
      gateway_url: gatewayUrl,
      expires_at: body.data.expires_at,
      origin: body.data.origin,
      max_creates: body.data.max_creates,
    })
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://example.invalid').pathname
    if (req.method === 'POST' && path === '/token') {
      mint(req, res).catch((err: Error) => send(res, 500, { error: err.message }))
      return
    }
    const asset = STATIC[path]
    if ((req.method === 'GET' || req.method === 'HEAD') && asset) {
      readFile(new URL(`./${asset.file}`, import.meta.url)).then(
        (content) => send(res, 200, content, asset.type),
        (err: Error) => send(res, 500, { error: err.message }),
      )
      return
    }
    send(res, 404, { error: `no route ${req.method} ${path}` })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8090, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host ?? '127.0.0.1'
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}

async function main() {
  const tenantKey = process.env.TENANT_KEY
  if (!tenantKey) throw new Error('TENANT_KEY is required (the key `npm run demo` prints)')
  const example = await startExampleServer({
    gatewayUrl: process.env.GATEWAY_URL || 'http://127.0.0.1:8080',
    tenantKey,
    port: process.env.PORT ? Number(process.env.PORT) : 8090,
    host: process.env.HOST || '127.0.0.1',
  })
  process.stdout.write(
    `Browser example on ${example.url}/ (gateway ${process.env.GATEWAY_URL || 'http://127.0.0.1:8080'}). Ctrl-C stops it.\n`,
  )
  const stop = () => {
    example.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`browser example: cannot start: ${(err as Error).message}\n`)
    process.exit(1)
  })
}
