import { randomUUID } from 'node:crypto'
import { connectRedis, redisStore } from '../../src/store/redis.js'
import { openSqliteStore } from '../../src/store/sqlite.js'
import type { GatewayStore } from '../../src/store/types.js'
import { tempDir } from './gateway.js'

/** .ci/run points this at a Redis it made sure of; tests that need Redis fail, never skip, without one. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export type StoreKind = 'sqlite' | 'redis'
export const STORE_KINDS: StoreKind[] = ['sqlite', 'redis']

/** A key prefix no other test file uses, so files can share one Redis in parallel. */
export const uniquePrefix = () => `ogtest:${randomUUID().slice(0, 8)}:`

/** Gateway settings that select a store: a fresh prefix on the test Redis, or the default SQLite. */
export function storeEnv(kind: StoreKind): Record<string, string> {
  return kind === 'redis' ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniquePrefix() } : {}
}

export async function openStore(kind: StoreKind): Promise<GatewayStore> {
  if (kind === 'sqlite') return openSqliteStore(tempDir())
  const client = connectRedis(TEST_REDIS_URL)
  await client.connect()
  return redisStore(client, uniquePrefix())
}
