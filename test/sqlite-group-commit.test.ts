import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { groupCommit } from '../src/store/sqlite-group-commit.js'
import { tempDir } from './helpers/gateway.js'

describe('the SQLite group commit', () => {
  let db: Database.Database
  beforeEach(() => {
    db = new Database(join(tempDir(), 'group.sqlite'))
    db.pragma('journal_mode = WAL')
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL)')
  })
  afterEach(() => db.close())

  const insertTwice = () => {
    const insert = db.prepare('INSERT INTO t (id, n) VALUES (?, ?)')
    return db.transaction((id: string) => {
      insert.run(`${id}-a`, 1)
      insert.run(`${id}-b`, 2)
      if (id.startsWith('bad')) throw new Error(`refused ${id}`)
      return id
    })
  }

  it('commits the writes of one event-loop turn in one transaction and answers each after it', async () => {
    const { write } = groupCommit(db)
    const insert = insertTwice()
    // A second connection sees only committed rows: from inside the last write, none are yet.
    const reader = new Database(db.name, { readonly: true })
    const committedRows = () => (reader.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n
    let committedDuringLastWrite = -1
    const writes = ['x1', 'x2', 'x3'].map((id) =>
      write(() => {
        if (id === 'x3') committedDuringLastWrite = committedRows()
        return insert(id)
      }),
    )
    expect(committedRows()).toBe(0)
    await expect(Promise.all(writes)).resolves.toEqual(['x1', 'x2', 'x3'])
    expect(committedDuringLastWrite).toBe(0)
    expect(committedRows()).toBe(6)
    reader.close()
  })

  it('rolls back only the write that threw, and rejects only its caller', async () => {
    const { write } = groupCommit(db)
    const insert = insertTwice()
    const results = await Promise.allSettled(['ok1', 'bad1', 'ok2'].map((id) => write(() => insert(id))))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('refused bad1')
    const ids = db.prepare('SELECT id FROM t ORDER BY id').pluck().all()
    expect(ids).toEqual(['ok1-a', 'ok1-b', 'ok2-a', 'ok2-b'])
  })

  it('rejects every write of a batch whose commit fails, and keeps none of them', async () => {
    const { write } = groupCommit(db)
    const insert = insertTwice()
    const writes = ['y1', 'y2'].map((id) => write(() => insert(id)))
    db.close()
    const results = await Promise.allSettled(writes)
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    db = new Database(join(db.name))
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 })
  })

  it('commits what is queued when flushed, before the turn ends', async () => {
    const { write, flush } = groupCommit(db)
    const insert = insertTwice()
    const pending = write(() => insert('z1'))
    flush()
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 2 })
    await expect(pending).resolves.toBe('z1')
  })
})
