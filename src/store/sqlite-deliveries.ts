import type Database from 'better-sqlite3'
import type { GroupWrite } from './sqlite-group-commit.js'
import type { Delivery, DeliveryStore, StatusUpdate } from './types.js'

/**
 * Pending webhook deliveries, and an index of the tasks not yet final for the refresher (partial:
 * it holds only unfinished tasks, so finished ones cost the refresher nothing).
 */
export const DELIVERIES_MIGRATION = `
  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, task_id TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, first_attempt_at INTEGER NOT NULL);
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
  CREATE INDEX tasks_unfinished ON tasks (last_checked_at, recorded_at)
    WHERE status NOT IN ('completed', 'failed');`

interface DeliveryRow {
  id: string
  tenant_id: string
  task_id: string
  payload: string
  attempts: number
  next_attempt_at: number
  first_attempt_at: number
}

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  tenantId: row.tenant_id,
  taskId: row.task_id,
  payload: row.payload,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  firstAttemptAt: row.first_attempt_at,
})

/** The statement recordStatus runs inside its own transaction when a task first becomes final. */
export function enqueueDeliveryStatement(db: Database.Database) {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO webhook_deliveries (id, tenant_id, task_id, payload, attempts, next_attempt_at,
       first_attempt_at) VALUES (?, ?, ?, ?, 0, ?, ?)`,
  )
  return (id: string, tenantId: string, taskId: string, update: StatusUpdate) =>
    insert.run(id, tenantId, taskId, update.answer, update.checkedAt, update.checkedAt)
}

/** The unfinished-task query, shared with sqlite.ts which maps rows to TaskRecords. */
export function unfinishedStatement<Row>(db: Database.Database) {
  return db.prepare<[number, number, number], Row>(
    `SELECT * FROM tasks
     WHERE status NOT IN ('completed', 'failed') AND recorded_at > ?
       AND (last_checked_at IS NULL OR last_checked_at < ?)
     ORDER BY last_checked_at ASC, recorded_at ASC LIMIT ?`,
  )
}

export function sqliteDeliveries(db: Database.Database, write: GroupWrite): DeliveryStore {
  const due = db.prepare<[number, number], DeliveryRow>(
    'SELECT * FROM webhook_deliveries WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?',
  )
  const lease = db.prepare('UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?')
  const remove = db.prepare('DELETE FROM webhook_deliveries WHERE id = ?')
  const reschedule = db.prepare(
    'UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ? WHERE id = ?',
  )

  const claim = db.transaction((now: number, limit: number, leaseMs: number) => {
    const rows = due.all(now, limit)
    for (const row of rows) lease.run(now + leaseMs, row.id)
    return rows.map(toDelivery)
  })

  const forget = db.transaction((id: string) => {
    remove.run(id)
  })
  const retryLater = db.transaction((id: string, attempts: number, nextAttemptAt: number) => {
    reschedule.run(attempts, nextAttemptAt, id)
  })

  return {
    claimDueDeliveries: (now, limit, leaseMs) => write(() => claim(now, limit, leaseMs)),
    completeDelivery: (id) => write(() => forget(id)),
    rescheduleDelivery: (id, attempts, nextAttemptAt) => write(() => retryLater(id, attempts, nextAttemptAt)),
    dropDelivery: (id) => write(() => forget(id)),
  }
}
