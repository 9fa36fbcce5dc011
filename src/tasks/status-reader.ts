import type { Deps } from '../app.js'
import type { Config } from '../config/env.js'
import { FINAL_STATUSES, type TaskRecord } from '../store/types.js'
import type { UpstreamAnswer } from '../upstream/client.js'
import { checkRelayable } from '../upstream/map-error.js'
import { type CallContext, callUpstream } from '../upstream/timed-call.js'

/** The upstream keeps a finished video downloadable for 3 days. */
export const VIDEO_URL_VALID_MS = 3 * 86_400_000
const STATUS_WRITE_INTERVAL_MS = 1000

export interface StatusAnswer {
  status: number
  text: string
  source: 'upstream' | 'coalesced' | 'store'
}

interface QueryBody {
  code?: unknown
  data?: { status?: unknown; completed_at?: unknown } | null
}

const toMs = (t: number) => (t < 1e12 ? t * 1000 : t)

export interface StatusReaderHooks {
  /** A recorded answer first made a task final; `notified` when its webhook was enqueued with it. */
  onFinal?(task: TaskRecord, notified: boolean): void
}

/**
 * Answers a status query: from the store when the last answer is final (and its video link
 * still valid) or fresh enough, else from the upstream, sharing one call among concurrent polls.
 */
export class TaskStatusReader {
  private readonly pending = new Map<string, Promise<UpstreamAnswer>>()
  /** When a completed task's stored video link stops being valid: parsed once per stored answer. */
  private readonly linkValidUntil = new WeakMap<TaskRecord, number>()

  constructor(
    private readonly deps: Pick<Deps, 'upstream' | 'store' | 'clock' | 'metrics' | 'tenants'>,
    private readonly config: Pick<Config, 'queryFreshnessMs'>,
    private readonly hooks: StatusReaderHooks = {},
  ) {}

  async read(task: TaskRecord, request: CallContext): Promise<StatusAnswer> {
    return this.fromStore(task) ?? this.fromUpstream(task, request)
  }

  /** The stored answer when it may be given (final with a valid link, or fresh enough); no waiting. */
  fromStore(task: TaskRecord): StatusAnswer | undefined {
    if (task.lastAnswer === null || !this.storedAnswerUsable(task)) return undefined
    this.deps.metrics.queryAnswers.store++
    return { status: 200, text: task.lastAnswer, source: 'store' }
  }

  async fromUpstream(task: TaskRecord, request: CallContext): Promise<StatusAnswer> {
    // Concurrent polls of one task share the first one's upstream call.
    const pending = this.pending.get(task.taskId)
    if (pending) {
      const answer = await pending
      this.deps.metrics.queryAnswers.coalesced++
      checkRelayable(answer)
      return { status: answer.status, text: answer.text, source: 'coalesced' }
    }
    const call = callUpstream(request, this.deps.metrics, 'query', () =>
      this.deps.upstream.queryTask(task.taskId, request.id),
    )
    this.pending.set(task.taskId, call)
    let answer: UpstreamAnswer
    try {
      answer = await call
    } finally {
      this.pending.delete(task.taskId)
    }
    this.deps.metrics.queryAnswers.upstream++
    checkRelayable(answer)
    await this.remember(task, answer)
    return { status: answer.status, text: answer.text, source: 'upstream' }
  }

  private storedAnswerUsable(task: TaskRecord): boolean {
    const now = this.deps.clock.now()
    if (FINAL_STATUSES.has(task.status)) {
      if (task.status === 'failed') return true
      let validUntil = this.linkValidUntil.get(task)
      if (validUntil === undefined) {
        const body = JSON.parse(task.lastAnswer as string) as QueryBody
        const completedAt =
          typeof body.data?.completed_at === 'number' ? toMs(body.data.completed_at) : Infinity
        validUntil = Math.min(completedAt, task.lastCheckedAt ?? 0) + VIDEO_URL_VALID_MS
        this.linkValidUntil.set(task, validUntil)
      }
      return now < validUntil
    }
    return task.lastCheckedAt !== null && now - task.lastCheckedAt < this.config.queryFreshnessMs
  }

  private async remember(task: TaskRecord, answer: UpstreamAnswer): Promise<void> {
    const body = answer.json as QueryBody
    if (answer.status !== 200 || body.code !== '20000' || typeof body.data?.status !== 'string') return
    // The webhook is enqueued in the same store step that records the end, so it is never lost.
    const now = this.deps.clock.now()
    // A task polled many times a second need not be written each time: an unchanged, unfinished
    // status is stored at most once per STATUS_WRITE_INTERVAL_MS (a copy then only looks older).
    const unchanged = body.data.status === task.status && !FINAL_STATUSES.has(task.status)
    if (unchanged && task.lastCheckedAt !== null && now - task.lastCheckedAt < STATUS_WRITE_INTERVAL_MS)
      return
    const notify = this.deps.tenants.tenant(task.tenantId)?.webhook_url !== undefined
    const update = { status: body.data.status, answer: answer.text, checkedAt: now }
    const becameFinal = await this.deps.store.recordStatus(task.taskId, update, notify)
    if (becameFinal) this.hooks.onFinal?.(task, notify)
  }
}
