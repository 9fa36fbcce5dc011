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
  recordCreated(task: NewTask): Promise<void>
  /** The task if it exists and belongs to the tenant; one answer for "missing" and "not yours". */
  findOwned(tenantId: string, taskId: string): Promise<TaskRecord | undefined>
  /** Newest first, strictly after `after` when given. */
  listOwned(tenantId: string, limit: number, after?: ListPosition): Promise<TaskRecord[]>
  recordStatus(taskId: string, update: StatusUpdate): Promise<void>
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>
  close(): Promise<void>
}

export const FINAL_STATUSES = new Set(['completed', 'failed'])
