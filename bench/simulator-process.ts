import { createServer } from 'node:http'
import { startSimulator } from '../src/simulator/app.js'

/**
 * The upstream simulator as a process of its own, plus a tiny side server (a second port, so the
 * simulator's own routes are untouched) the bench uses to count upstream calls and finish tasks:
 *   GET  /__stats       {"create":n,"query":n} since the last reset
 *   POST /__reset       zero the counters
 *   POST /__finish/:id  move a task straight to `completed`
 * Prints one JSON line {"url","baseUrl","statsUrl"} once both listen.
 *
 * env: SIM_TOKEN (required), SIM_TASK_DURATION_MS (default 10^9: tasks never finish by themselves), SIM_PORT.
 */
const token = process.env.SIM_TOKEN
if (!token) {
  process.stderr.write('SIM_TOKEN is required\n')
  process.exit(1)
}
const sim = await startSimulator({
  token,
  host: '127.0.0.1',
  port: Number(process.env.SIM_PORT ?? 0),
  taskDurationMs: Number(process.env.SIM_TASK_DURATION_MS ?? 1e9),
})

const counts = { create: 0, query: 0 }
/** sim.calls keeps every request (headers, body) forever: count them and let them go. */
function drain() {
  for (const call of sim.calls) counts[call.operation]++
  sim.calls.length = 0
}
setInterval(drain, 250).unref()

const side = createServer((req, res) => {
  const url = req.url ?? '/'
  const answer = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  if (req.method === 'GET' && url === '/__stats') {
    drain()
    return answer(200, counts)
  }
  if (req.method === 'POST' && url === '/__reset') {
    drain()
    counts.create = 0
    counts.query = 0
    return answer(200, counts)
  }
  const finish = /^\/__finish\/([^/]+)$/.exec(url)
  if (req.method === 'POST' && finish?.[1]) {
    sim.finish(decodeURIComponent(finish[1]))
    return answer(200, { finished: finish[1] })
  }
  answer(404, { error: 'no such route' })
})
await new Promise<void>((resolve) => side.listen(0, '127.0.0.1', resolve))
const address = side.address()
if (typeof address !== 'object' || address === null) throw new Error('side server has no address')

process.stdout.write(
  `${JSON.stringify({ url: sim.url, baseUrl: sim.baseUrl, statsUrl: `http://127.0.0.1:${address.port}` })}\n`,
)

const stop = () => {
  side.close()
  void sim.close().then(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
