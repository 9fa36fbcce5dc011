import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'

/** A stand-in for the paid upstream: the same routes and envelope, a task lifecycle, scripted faults. */
export interface SimulatorOptions {
  token: string
  port?: number
  host?: string
  /** Default '/api/open-api', as on the real upstream. */
  prefix?: string
  /** How long a task takes from queued to completed. */
  taskDurationMs?: number
  now?: () => number
}

export type Fault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'garbage' }
  | { kind: 'delay'; ms: number }

export type Operation = 'create' | 'query'

export interface RecordedCall {
  operation: Operation
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: unknown
}

interface SimTask {
  id: string
  model: string
  createdAt: number
  fails: boolean
}

export interface Simulator {
  /** Origin, e.g. http://127.0.0.1:40123 */
  url: string
  /** What UPSTREAM_BASE_URL should be: origin + prefix. */
  baseUrl: string
  calls: RecordedCall[]
  /** The next `times` calls of `operation` meet `fault` instead of a normal answer. */
  failNext(operation: Operation, fault: Fault, times?: number): void
  /** Moves a task straight to its final state. */
  finish(taskId: string): void
  close(): Promise<void>
}

const ok = (data: unknown) => ({ code: '20000', msg: 'ok', data })

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const prefix = options.prefix ?? '/api/open-api'
  const duration = options.taskDurationMs ?? 20_000
  const now = options.now ?? Date.now
  const tasks = new Map<string, SimTask>()
  const calls: RecordedCall[] = []
  const faults: Record<Operation, Fault[]> = { create: [], query: [] }
  const hanging = new Set<FastifyReply>()
  const app = Fastify({ logger: false, forceCloseConnections: true })

  /** Returns true when a fault answered (or swallowed) the request. */
  async function applyFault(
    operation: Operation,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<boolean> {
    const fault = faults[operation].shift()
    if (!fault) return false
    switch (fault.kind) {
      case 'status':
        reply.code(fault.status).headers(fault.headers ?? {})
        reply
          .type('application/json')
          .send(
            fault.body ?? JSON.stringify({ code: `${fault.status}00`, msg: 'simulated failure', data: null }),
          )
        return true
      case 'garbage':
        reply.code(200).type('text/html').send('<html>502 Bad Gateway</html>')
        return true
      case 'reset':
        request.raw.socket.destroy()
        reply.hijack()
        return true
      case 'hang':
        hanging.add(reply)
        reply.hijack()
        return true
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.ms))
        return false
    }
  }

  function record(operation: Operation, request: FastifyRequest) {
    calls.push({
      operation,
      method: request.method,
      path: request.url,
      headers: request.headers,
      body: request.body,
    })
  }

  function authorized(request: FastifyRequest, reply: FastifyReply): boolean {
    if (request.headers.authorization === `Bearer ${options.token}`) return true
    reply.code(401).send({ code: '40100', msg: 'invalid token', data: null })
    return false
  }

  function view(task: SimTask) {
    const elapsed = now() - task.createdAt
    const base = { task_id: task.id, model: task.model, created_at: Math.floor(task.createdAt / 1000) }
    if (task.fails && elapsed >= duration / 2) {
      return {
        ...base,
        status: 'failed',
        progress: 0,
        completed_at: Math.floor((task.createdAt + duration / 2) / 1000),
        result: null,
        error_message: 'content policy violation (simulated)',
      }
    }
    if (elapsed >= duration) {
      return {
        ...base,
        status: 'completed',
        progress: 100,
        completed_at: Math.floor((task.createdAt + duration) / 1000),
        result: { video_url: `https://cdn.simulator.invalid/videos/${task.id}.mp4`, image_url: null },
        error_message: null,
      }
    }
    if (elapsed < duration / 10)
      return { ...base, status: 'queued', progress: 0, completed_at: null, result: null, error_message: null }
    const progress = Math.min(99, Math.max(1, Math.floor((elapsed / duration) * 100)))
    return { ...base, status: 'processing', progress, completed_at: null, result: null, error_message: null }
  }

  app.post(`${prefix}/v1/gemini/omni/videos`, async (request, reply) => {
    record('create', request)
    if (await applyFault('create', request, reply)) return reply
    if (!authorized(request, reply)) return reply
    const body = (request.body ?? {}) as { model?: string; prompt?: string }
    if (typeof body.prompt !== 'string' || typeof body.model !== 'string') {
      return reply.code(400).send({ code: '40000', msg: 'model and prompt are required', data: null })
    }
    const task: SimTask = {
      id: `sim_${randomBytes(8).toString('hex')}`,
      model: body.model,
      createdAt: now(),
      fails: body.prompt.includes('[fail]'),
    }
    tasks.set(task.id, task)
    return ok({
      task_id: task.id,
      status: 'queued',
      model: task.model,
      created_at: Math.floor(task.createdAt / 1000),
    })
  })

  app.get<{ Params: { taskId: string } }>(`${prefix}/v1/videos/:taskId`, async (request, reply) => {
    record('query', request)
    if (await applyFault('query', request, reply)) return reply
    if (!authorized(request, reply)) return reply
    const task = tasks.get(request.params.taskId)
    if (!task) return reply.code(404).send({ code: '40400', msg: 'task not found', data: null })
    return ok(view(task))
  })

  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  const url = address.replace('[::1]', '127.0.0.1')
  return {
    url,
    baseUrl: url + prefix,
    calls,
    failNext(operation, fault, times = 1) {
      for (let i = 0; i < times; i++) faults[operation].push(fault)
    },
    finish(taskId) {
      const task = tasks.get(taskId)
      if (task) task.createdAt = now() - duration
    },
    async close() {
      for (const reply of hanging) reply.raw.destroy()
      await app.close()
    },
  }
}
