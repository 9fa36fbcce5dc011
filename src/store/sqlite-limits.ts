import type Database from 'better-sqlite3'
import type { GroupWrite } from './sqlite-group-commit.js'
import type {
  IdempotencyBegin,
  IdempotencyTiming,
  LimitsStore,
  Reservation,
  TenantLimitsInForce,
} from './types.js'

export const LIMITS_MIGRATION = `
  CREATE TABLE in_flight (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE INDEX in_flight_by_tenant ON in_flight (tenant_id, expires_at);
  CREATE TABLE daily_seconds (
    tenant_id TEXT NOT NULL, day TEXT NOT NULL, seconds INTEGER NOT NULL, PRIMARY KEY (tenant_id, day));
  CREATE TABLE usage (
    tenant_id TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
    tasks INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, video_seconds INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, model));
  CREATE TABLE idempotency (
    tenant_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
    status INTEGER, body TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (tenant_id, key));`

/**
 * A recorded task counts in flight from its own row until it ends or ages out, not from a row of
 * `in_flight` (which keeps only reservations): one index entry appended per create instead of a
 * row and two index entries at a random place, the largest share of a create's store cost.
 */
export const TASKS_IN_FLIGHT_MIGRATION = `
  ALTER TABLE tasks ADD COLUMN in_flight_until INTEGER;
  UPDATE tasks SET in_flight_until = (SELECT expires_at FROM in_flight WHERE in_flight.id = tasks.task_id);
  DELETE FROM in_flight WHERE id IN (SELECT task_id FROM tasks);
  CREATE INDEX tasks_in_flight ON tasks (tenant_id, in_flight_until) WHERE status NOT IN ('completed', 'failed');`

export const ALLOWANCES_MIGRATION = `
  CREATE TABLE allowances (key TEXT PRIMARY KEY, used INTEGER NOT NULL, expires_at INTEGER NOT NULL);`

interface IdempotencyRow {
  fingerprint: string
  done: number
  status: number | null
  body: string | null
  created_at: number
}

/** Statements shared with the task half of the store, which moves reservations and counts usage. */
export function limitStatements(db: Database.Database) {
  return {
    countInFlight: db.prepare<[{ tenantId: string; now: number }], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM in_flight WHERE tenant_id = @tenantId AND expires_at > @now)
            + (SELECT COUNT(*) FROM tasks WHERE tenant_id = @tenantId AND in_flight_until > @now
                 AND status NOT IN ('completed', 'failed')) AS n`,
    ),
    addInFlight: db.prepare('INSERT OR REPLACE INTO in_flight (id, tenant_id, expires_at) VALUES (?, ?, ?)'),
    removeInFlight: db.prepare('DELETE FROM in_flight WHERE id = ?'),
    pruneInFlight: db.prepare('DELETE FROM in_flight WHERE tenant_id = ? AND expires_at <= ?'),
    secondsUsed: db.prepare<[string, string], { seconds: number }>(
      'SELECT seconds FROM daily_seconds WHERE tenant_id = ? AND day = ?',
    ),
    addSeconds: db.prepare(
      `INSERT INTO daily_seconds (tenant_id, day, seconds) VALUES (?, ?, ?)
       ON CONFLICT (tenant_id, day) DO UPDATE SET seconds = seconds + excluded.seconds`,
    ),
    countUsage: db.prepare(
      `INSERT INTO usage (tenant_id, day, model, tasks, failed, video_seconds) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, day, model) DO UPDATE SET tasks = tasks + excluded.tasks,
         failed = failed + excluded.failed, video_seconds = video_seconds + excluded.video_seconds`,
    ),
  }
}

export function sqliteLimits(db: Database.Database, write: GroupWrite): LimitsStore {
  const s = limitStatements(db)
  const findKey = db.prepare<[string, string], IdempotencyRow>(
    'SELECT * FROM idempotency WHERE tenant_id = ? AND key = ?',
  )
  const startKey = db.prepare(
    'INSERT OR REPLACE INTO idempotency (tenant_id, key, fingerprint, done, created_at) VALUES (?, ?, ?, 0, ?)',
  )
  const finishKey = db.prepare(
    'UPDATE idempotency SET done = 1, status = ?, body = ? WHERE tenant_id = ? AND key = ?',
  )
  const dropKey = db.prepare('DELETE FROM idempotency WHERE tenant_id = ? AND key = ? AND done = 0')
  const useAllowance = db.prepare(
    `INSERT INTO allowances (key, used, expires_at) VALUES (@key, 1, @expiresAt)
     ON CONFLICT (key) DO UPDATE SET used = used + 1 WHERE used < @max`,
  )
  const refundAllowance = db.prepare('UPDATE allowances SET used = used - 1 WHERE key = ? AND used > 0')
  const pruneAllowances = db.prepare('DELETE FROM allowances WHERE expires_at <= ?')
  const usageRows = db.prepare(
    `SELECT day AS date, model, tasks, failed, video_seconds FROM usage
     WHERE tenant_id = ? AND day >= ? AND day <= ? ORDER BY day DESC, model`,
  )

  // better-sqlite3 runs a transaction synchronously, and the group commit holds the write lock,
  // so no other request or process can slip between the check and the change.
  const reserve = db.transaction((r: Reservation, limits: TenantLimitsInForce, now: number) => {
    s.pruneInFlight.run(r.tenantId, now)
    if (limits.maxConcurrentTasks !== undefined) {
      const inFlight = s.countInFlight.get({ tenantId: r.tenantId, now })?.n ?? 0
      if (inFlight >= limits.maxConcurrentTasks)
        return { ok: false as const, reason: 'concurrency' as const, inFlight }
    }
    if (limits.dailyVideoSeconds !== undefined) {
      const used = s.secondsUsed.get(r.tenantId, r.day)?.seconds ?? 0
      if (used + r.seconds > limits.dailyVideoSeconds)
        return { ok: false as const, reason: 'quota' as const, used }
    }
    s.addInFlight.run(r.id, r.tenantId, r.expiresAt)
    s.addSeconds.run(r.tenantId, r.day, r.seconds)
    return { ok: true as const }
  })

  const release = db.transaction((r: Reservation) => {
    if (s.removeInFlight.run(r.id).changes > 0) s.addSeconds.run(r.tenantId, r.day, -r.seconds)
  })

  const begin = db.transaction(
    (tenantId: string, key: string, fingerprint: string, t: IdempotencyTiming): IdempotencyBegin => {
      const row = findKey.get(tenantId, key)
      const live =
        row && (row.done ? t.now - row.created_at < t.keepMs : t.now - row.created_at < t.pendingMs)
      if (!row || !live) {
        startKey.run(tenantId, key, fingerprint, t.now)
        return { state: 'started' }
      }
      if (row.fingerprint !== fingerprint) return { state: 'mismatch' }
      if (!row.done) return { state: 'in-flight' }
      return { state: 'replay', status: row.status ?? 200, body: row.body ?? '' }
    },
  )

  const takeAllowance = db.transaction((key: string, max: number, expiresAt: number) => {
    pruneAllowances.run(Date.now())
    return useAllowance.run({ key, max, expiresAt }).changes > 0
  })
  const oneStatement = (statement: Database.Statement) =>
    db.transaction((...params: unknown[]) => {
      statement.run(...params)
    })
  const finish = oneStatement(finishKey)
  const drop = oneStatement(dropKey)
  const refund = oneStatement(refundAllowance)

  return {
    reserve: (r, limits, now) => write(() => reserve(r, limits, now)),
    release: (r) => write(() => release(r)),
    beginIdempotent: (tenantId, key, fingerprint, timing) =>
      write(() => begin(tenantId, key, fingerprint, timing)),
    completeIdempotent: (tenantId, key, status, body) => write(() => finish(status, body, tenantId, key)),
    abandonIdempotent: (tenantId, key) => write(() => drop(tenantId, key)),
    async consumeAllowance(key, max, expiresAt) {
      if (max < 1) return false
      return write(() => takeAllowance(key, max, expiresAt))
    },
    refundAllowance: (key) => write(() => refund(key)),
    async usage(tenantId, fromDay, toDay) {
      return usageRows.all(tenantId, fromDay, toDay) as Awaited<ReturnType<LimitsStore['usage']>>
    },
    async today(tenantId, day, now) {
      return {
        secondsUsed: s.secondsUsed.get(tenantId, day)?.seconds ?? 0,
        inFlight: s.countInFlight.get({ tenantId, now })?.n ?? 0,
      }
    },
  }
}
