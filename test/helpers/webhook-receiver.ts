import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { rememberSecret } from './secrets.js'

/** A fresh Standard Webhooks secret, registered so that no log line may contain it. */
export const newSecret = (bytes = 32) => rememberSecret(`whsec_${randomBytes(bytes).toString('base64')}`)

export interface Received {
  url: string
  headers: Record<string, string>
  body: string
  /** The gateway's (test) clock when the request arrived. */
  at: number
}

/** A webhook receiver on a real socket: answers each request per `plan` (then 204), or never. */
export async function startReceiver(plan: (number | 'hang')[] = [], now: () => number = Date.now) {
  const received: Received[] = []
  const hanging: ServerResponse[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: flat(req.headers), body, at: now() })
      const step = plan.shift() ?? 204
      if (step === 'hang') hanging.push(res)
      else res.writeHead(step).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const flat = (headers: IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]))

/** Polls `probe` (doing `step` between tries, e.g. moving a test clock) until it holds, for at most ~5 s. */
export async function until(what: string, probe: () => boolean, step?: () => void): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (probe()) return
    step?.()
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}
