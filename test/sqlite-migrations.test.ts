import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { MIGRATIONS, openSqliteStore } from '../src/store/sqlite.js'
import { tempDir } from './helpers/gateway.js'

const NOW = Date.UTC(2026, 10, 27, 12)
const DAY = '2026-11-27'

describe('a store file written by an earlier version', () => {
  it('keeps counting its tasks in flight after the upgrade, until they end', async () => {
    const dir = tempDir()
    const old = new Database(join(dir, 'gateway.sqlite'))
    for (const [version, sql] of MIGRATIONS.slice(0, 4).entries()) {
      old.exec(sql)
      old.pragma(`user_version = ${version + 1}`)
    }
    const insertTask = old.prepare(
      `INSERT INTO tasks (task_id, tenant_id, key_id, model, billable_seconds, resolution, recorded_at,
         upstream_created_at, status) VALUES (?, 'acme', 'k1', 'Gemini-Omini', 6, '720p', ?, 1, ?)`,
    )
    insertTask.run('running-1', NOW, 'processing')
    insertTask.run('done-1', NOW, 'completed')
    old
      .prepare('INSERT INTO in_flight (id, tenant_id, expires_at) VALUES (?, ?, ?)')
      .run('running-1', 'acme', NOW + 1000)
    old
      .prepare('INSERT INTO in_flight (id, tenant_id, expires_at) VALUES (?, ?, ?)')
      .run('held-1', 'acme', NOW + 1000)
    old.close()

    const store = openSqliteStore(dir)
    expect((await store.today('acme', DAY, NOW)).inFlight).toBe(2)
    expect((await store.today('acme', DAY, NOW + 1000)).inFlight).toBe(0)
    await store.recordStatus('running-1', { status: 'completed', answer: '{}', checkedAt: NOW })
    expect((await store.today('acme', DAY, NOW)).inFlight).toBe(1)
    await store.close()
  })
})
