import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Deps } from '../app.js'
import { type GatewayError, toGatewayError } from '../errors.js'
import { FINAL_STATUSES, type TaskRecord } from '../store/types.js'
import type { TaskStatusReader } from './status-reader.js'

export interface TaskEvent {
  status: string
  progress: number | undefined
  /** The `data` of the upstream's query answer, as a caller of GET /v1/videos/{id} would see it. */
  data: Record<string, unknown>
}

export interface WatchListener {
  onEvent(event: TaskEvent): void
  onError(error: GatewayError): void
  /** The task reached completed or failed; no more events follow. */
  onEnd(): void
}

interface Loop {
  task: TaskRecord
  listeners: Set<WatchListener>
  last: TaskEvent | undefined
  timer: NodeJS.Timeout | undefined
}

/**
 * Polls the upstream on behalf of everyone watching a task: one loop per task however many
 * listeners, through the status reader (so the store's final answers and coalescing apply).
 */
export class TaskWatcher {
  private readonly loops = new Map<string, Loop>()

  constructor(
    private readonly deps: Pick<Deps, 'store'> & { log: FastifyBaseLogger },
    private readonly reader: TaskStatusReader,
    private readonly pollMs: number,
  ) {}

  /** Starts (or joins) the task's loop; returns the function that leaves it. */
  subscribe(task: TaskRecord, listener: WatchListener): () => void {
    let loop = this.loops.get(task.taskId)
    if (!loop) {
      loop = { task, listeners: new Set(), last: undefined, timer: undefined }
      this.loops.set(task.taskId, loop)
      void this.tick(loop)
    } else if (loop.last) {
      listener.onEvent(loop.last)
    }
    loop.listeners.add(listener)
    const joined = loop
    return () => {
      joined.listeners.delete(listener)
      if (joined.listeners.size === 0) this.stop(joined)
    }
  }

  /** Ends every stream (shutdown): listeners see onEnd, and EventSource clients reconnect elsewhere. */
  close(): void {
    for (const loop of this.loops.values()) {
      for (const listener of loop.listeners) listener.onEnd()
      this.stop(loop)
    }
  }

  private stop(loop: Loop) {
    clearTimeout(loop.timer)
    if (this.loops.get(loop.task.taskId) === loop) this.loops.delete(loop.task.taskId)
  }

  private async tick(loop: Loop): Promise<void> {
    try {
      const task = (await this.deps.store.findOwned(loop.task.tenantId, loop.task.taskId)) ?? loop.task
      const answer = await this.reader.read(task, { id: `events-${randomUUID()}`, upstreamMs: undefined })
      const body = JSON.parse(answer.text) as { code?: string; data?: Record<string, unknown> }
      if (body.code === '20000' && body.data && typeof body.data.status === 'string') {
        const event = {
          status: body.data.status,
          progress: typeof body.data.progress === 'number' ? body.data.progress : undefined,
          data: body.data,
        }
        if (event.status !== loop.last?.status || event.progress !== loop.last?.progress) {
          loop.last = event
          for (const listener of loop.listeners) listener.onEvent(event)
        }
        if (FINAL_STATUSES.has(event.status)) {
          for (const listener of loop.listeners) listener.onEnd()
          this.stop(loop)
          return
        }
      }
    } catch (err) {
      const error = toGatewayError(err)
      this.deps.log.warn({ taskId: loop.task.taskId, code: error.code }, 'task events poll failed')
      for (const listener of loop.listeners) listener.onError(error)
    }
    if (this.loops.get(loop.task.taskId) === loop)
      loop.timer = setTimeout(() => void this.tick(loop), this.pollMs)
  }
}
