import type Database from 'better-sqlite3'

interface QueuedWrite {
  run(): unknown
  resolve(value: unknown): void
  reject(reason: unknown): void
}

/**
 * Group commit: the writes asked for during one event-loop turn share one SQLite transaction.
 * A commit costs far more than the rows it carries (WAL frames for every touched page, the usage
 * and in-flight pages rewritten each time), so under load one commit for many creates is most of
 * the store's cost saved. Each write runs as a nested transaction (a savepoint): one that throws
 * is rolled back alone and rejects alone. No caller is answered before the COMMIT that holds its
 * write, so a write is as durable as before; a failed COMMIT rejects every write it carried.
 *
 * `run` must be a better-sqlite3 transaction function (or call one): only those become savepoints.
 */
export function groupCommit(db: Database.Database) {
  let queued: QueuedWrite[] = []
  let outcomes: { ok: boolean; value: unknown }[] = []

  const runAll = db.transaction((batch: QueuedWrite[]) => {
    outcomes = batch.map((write) => {
      try {
        return { ok: true, value: write.run() }
      } catch (err) {
        return { ok: false, value: err }
      }
    })
  })

  function flush() {
    const batch = queued
    queued = []
    try {
      runAll.immediate(batch)
    } catch (err) {
      for (const write of batch) write.reject(err)
      return
    }
    const settled = outcomes
    outcomes = []
    batch.forEach((write, i) => {
      const outcome = settled[i] as { ok: boolean; value: unknown }
      if (outcome.ok) write.resolve(outcome.value)
      else write.reject(outcome.value)
    })
  }

  return {
    write<T>(run: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queued.length === 0) setImmediate(flushQueued)
        queued.push({ run, resolve: resolve as (value: unknown) => void, reject })
      })
    },
    /** Commits what is queued now (before closing the database). */
    flush: flushQueued,
  }

  function flushQueued() {
    if (queued.length > 0) flush()
  }
}

export type GroupWrite = ReturnType<typeof groupCommit>['write']
