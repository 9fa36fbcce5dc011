import { randomUUID } from 'node:crypto'
import type { Deps } from '../app.js'
import type { Config } from '../config/env.js'
import type { TaskRecord } from '../store/types.js'
import type { CallContext } from '../upstream/timed-call.js'
import type { TaskStatusReader } from './status-reader.js'

/** Most refresh queries in flight at once, per gateway process. */
export const REFRESH_CONCURRENCY = 4

/**
 * Asks the upstream about tasks nobody polls, so that a task's end is seen (its slot in flight
 * freed, its webhook sent) without a caller: every REFRESH_INTERVAL_MS it lists up to REFRESH_BATCH
 * unfinished tasks younger than TASK_MAX_AGE_MS and not checked within the interval (nor within
 * QUERY_FRESHNESS_MS, whose copies the reader would answer from the store), and reads each
 * through the TaskStatusReader (coalescing, freshness and recording apply), spread over the interval.
 */
export class TaskRefresher {
  private timer: NodeJS.Timeout | undefined
  private running = false
  private batch: Promise<void> | undefined
  private storeFailing = false
  /** Resolvers of the sleeps between spread-out calls, cut short on stop. */
  private readonly sleepers = new Set<() => void>()

  constructor(
    private readonly deps: Pick<Deps, 'store' | 'clock' | 'logger'>,
    private readonly config: Pick<
      Config,
      'refreshIntervalMs' | 'refreshBatch' | 'taskMaxAgeMs' | 'queryFreshnessMs'
    >,
    private readonly reader: TaskStatusReader,
  ) {}

  start(): void {
    if (this.running || this.config.refreshIntervalMs === 0) return
    this.running = true
    // A random first delay keeps replicas started together from listing the same tasks together.
    this.schedule(Math.random() * this.config.refreshIntervalMs)
  }

  /** Stops listing; the queries already sent are awaited (each is bounded by UPSTREAM_TIMEOUT_MS). */
  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    for (const wake of this.sleepers) wake()
    await this.batch
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      const started = performance.now()
      this.batch = this.runBatch(started).finally(() => {
        this.batch = undefined
        const elapsed = performance.now() - started
        if (this.running) this.schedule(Math.max(0, this.config.refreshIntervalMs - elapsed))
      })
    }, ms)
    this.timer.unref()
  }

  private async runBatch(started: number): Promise<void> {
    const { store, clock, logger } = this.deps
    const interval = this.config.refreshIntervalMs
    const now = clock.now()
    // A copy younger than QUERY_FRESHNESS_MS would be answered from the store: such a task waits.
    const staleBefore = now - Math.max(interval, this.config.queryFreshnessMs)
    let tasks: TaskRecord[]
    try {
      tasks = await store.listUnfinished(now, this.config.taskMaxAgeMs, staleBefore, this.config.refreshBatch)
      if (this.storeFailing) logger.info('task refresh: store reachable again')
      this.storeFailing = false
    } catch (err) {
      // One line per outage, not one per interval.
      if (!this.storeFailing)
        logger.warn({ reason: (err as Error).message }, 'task refresh: cannot list unfinished tasks')
      this.storeFailing = true
      return
    }
    if (tasks.length === 0) return
    const spacing = interval / tasks.length
    let next = 0
    let failed = 0
    const worker = async () => {
      for (let i = next++; i < tasks.length && this.running; i = next++) {
        await this.sleep(started + i * spacing - performance.now())
        if (!this.running) return
        if (!(await this.refresh(tasks[i] as TaskRecord))) failed++
      }
    }
    await Promise.all(Array.from({ length: Math.min(REFRESH_CONCURRENCY, tasks.length) }, worker))
    if (failed > 0) logger.warn({ failed, listed: tasks.length }, 'task refresh: some queries failed')
  }

  private async refresh(task: TaskRecord): Promise<boolean> {
    const context: CallContext = { id: `refresh-${randomUUID()}`, upstreamMs: undefined }
    try {
      const answer = await this.reader.read(task, context)
      this.deps.logger.debug(
        {
          reqId: context.id,
          taskId: task.taskId,
          tenant: task.tenantId,
          status: answer.status,
          source: answer.source,
        },
        'task refreshed',
      )
      return true
    } catch (err) {
      this.deps.logger.debug(
        { reqId: context.id, taskId: task.taskId, tenant: task.tenantId, reason: (err as Error).message },
        'task refresh failed',
      )
      return false
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || !this.running) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.sleepers.add(done)
    })
  }
}
