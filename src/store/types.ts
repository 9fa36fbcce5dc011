import type { CanonicalModel } from '../schemas/models.js'

/** A task the upstream accepted, as the gateway recorded it. */
export interface TaskRecord {
  taskId: string
  tenantId: string
  keyId: string
  model: CanonicalModel
  billableSeconds: number
  resolution: string
  /** Gateway clock, epoch ms: orders listings and ages tasks. */
  recordedAt: number
  /** The upstream's `created_at`, shown to callers as is. */
  upstreamCreatedAt: number
  status: string
  /** The raw body of the last query answer the gateway relayed. */
  lastAnswer: string | null
  lastCheckedAt: number | null
}

export type NewTask = Omit<TaskRecord, 'lastAnswer' | 'lastCheckedAt'>

export interface StatusUpdate {
  status: string
  answer: string
  checkedAt: number
}

export interface ListPosition {
  recordedAt: number
  taskId: string
}

/** Where task ownership lives: SQLite embedded, Redis when replicas share state. */
export interface TaskStore {
  /**
   * Records an accepted task in place of its reservation: it now counts in flight and in usage. A
   * reservation that was not held has its seconds counted for the day here.
   */
  recordCreated(task: NewTask, reservation: Reservation): Promise<void>
  /** The task if it exists and belongs to the tenant; one answer for "missing" and "not yours". */
  findOwned(tenantId: string, taskId: string): Promise<TaskRecord | undefined>
  /**
   * findOwned from this process's memory alone, without waiting: undefined when it holds no such task of
   * the tenant's (findOwned then asks the store). Only a store with a memory cache has it.
   */
  findOwnedInMemory?(tenantId: string, taskId: string): TaskRecord | undefined
  /** Newest first, strictly after `after` when given. */
  listOwned(tenantId: string, limit: number, after?: ListPosition): Promise<TaskRecord[]>
  /**
   * Stores the last answer; a first final status ends the task's slot in flight (and counts a failure).
   * Returns true when this update first made the task final; with `notify`, that same atomic step
   * also enqueues the task's webhook delivery.
   */
  recordStatus(taskId: string, update: StatusUpdate, notify?: boolean): Promise<boolean>
  /**
   * Tasks not yet final, recorded after `now - maxAgeMs`, last checked never or before `staleBefore`:
   * oldest check first (never checked first of all). The refresher's work list.
   */
  listUnfinished(now: number, maxAgeMs: number, staleBefore: number, limit: number): Promise<TaskRecord[]>
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>
  close(): Promise<void>
}

export const FINAL_STATUSES = new Set(['completed', 'failed'])

/** One create the gateway is about to forward: a slot in flight and its seconds, held until the upstream answers. */
export interface Reservation {
  id: string
  tenantId: string
  seconds: number
  /** UTC day the seconds count against, YYYY-MM-DD. */
  day: string
  /** When the slot stops counting as in flight even if no end is ever seen. */
  expiresAt: number
  /**
   * Whether `reserve` stored it. A tenant without limits has nothing to hold it against, so it is
   * not stored, and recording the task counts its seconds instead.
   */
  held: boolean
}

export interface TenantLimitsInForce {
  maxConcurrentTasks?: number
  dailyVideoSeconds?: number
}

export type ReserveResult =
  | { ok: true }
  | { ok: false; reason: 'concurrency'; inFlight: number }
  | { ok: false; reason: 'quota'; used: number }

export type IdempotencyBegin =
  | { state: 'started' }
  | { state: 'replay'; status: number; body: string }
  | { state: 'in-flight' }
  | { state: 'mismatch' }

export interface IdempotencyTiming {
  now: number
  /** How long a successful answer is replayed. */
  keepMs: number
  /** How long an unfinished first request blocks its key (covers a crash mid-request). */
  pendingMs: number
}

export interface UsageRow {
  date: string
  model: string
  tasks: number
  failed: number
  video_seconds: number
}

export interface TodayUsage {
  secondsUsed: number
  inFlight: number
}

/** Limits, idempotency and usage: every check-and-change is one atomic step in the store. */
export interface LimitsStore {
  reserve(reservation: Reservation, limits: TenantLimitsInForce, now: number): Promise<ReserveResult>
  /** Gives a reservation back when the upstream did not accept the create. */
  release(reservation: Reservation): Promise<void>
  beginIdempotent(
    tenantId: string,
    key: string,
    fingerprint: string,
    timing: IdempotencyTiming,
  ): Promise<IdempotencyBegin>
  completeIdempotent(tenantId: string, key: string, status: number, body: string): Promise<void>
  abandonIdempotent(tenantId: string, key: string): Promise<void>
  /** Takes one use of a counted allowance (a browser token's creates); false once `max` are used. */
  consumeAllowance(key: string, max: number, expiresAt: number): Promise<boolean>
  /** Gives back a use taken for a create the upstream did not accept. */
  refundAllowance(key: string): Promise<void>
  usage(tenantId: string, fromDay: string, toDay: string): Promise<UsageRow[]>
  today(tenantId: string, day: string, now: number): Promise<TodayUsage>
}

/** One webhook message to send: a task of a tenant with a webhook_url that reached completed or failed. */
export interface Delivery {
  /** `msg_<taskId>`: the same on every attempt, so receivers can deduplicate. */
  id: string
  tenantId: string
  taskId: string
  /** The task's last query answer body, sent unchanged. */
  payload: string
  /** Attempts that failed so far. */
  attempts: number
  nextAttemptAt: number
  /** When the first attempt was due (the task became final): retries stop WEBHOOK_MAX_AGE_MS later. */
  firstAttemptAt: number
}

/** Pending webhook deliveries: kept in the store, so they survive a restart and are shared by replicas. */
export interface DeliveryStore {
  /**
   * Due deliveries (nextAttemptAt <= now), earliest first, at most `limit`; each one's nextAttemptAt
   * moves to now + leaseMs in the same atomic step, so no other loop or replica sends it meanwhile.
   */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<Delivery[]>
  /** Delivered: forget it. */
  completeDelivery(id: string): Promise<void>
  /** Failed (or abandoned): try again at `nextAttemptAt`. No effect on a delivery already gone. */
  rescheduleDelivery(id: string, attempts: number, nextAttemptAt: number): Promise<void>
  /** Given up: forget it. */
  dropDelivery(id: string): Promise<void>
}

export const deliveryIdOf = (taskId: string) => `msg_${taskId}`

export type GatewayStore = TaskStore & LimitsStore & DeliveryStore
