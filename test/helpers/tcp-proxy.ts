import { connect, createServer, type Server, type Socket } from 'node:net'

/** A TCP hop in front of a real service that a test can cut and restore, to make a real outage. */
export interface TcpProxy {
  port: number
  url(scheme: string): string
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let server: Server
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => {
            client.destroy()
            upstream.destroy()
          })
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => {
        const address = server.address()
        resolve(typeof address === 'object' && address ? address.port : port)
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  const port = await listen(0)
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    cut: stop,
    restore: async () => {
      await listen(port)
    },
    close: stop,
  }
}
