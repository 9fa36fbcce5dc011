import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { GatewayError } from '../errors.js'
import type { CanonicalModel } from '../schemas/models.js'
import { DAY_MS, utcDay } from './days.js'
import { deliveryKeys, redisDeliveries } from './redis-deliveries.js'
import * as scripts from './redis-scripts.js'
import {
  deliveryIdOf,
  type GatewayStore,
  type IdempotencyBegin,
  type ListPosition,
  type TaskRecord,
  type UsageRow,
} from './types.js'
import { storeUnavailable } from './unavailable.js'

/** Usage history is kept this long; the daily quota counters only until the day is well over. */
const USAGE_TTL_S = 400 * 86_400
const DAILY_TTL_S = 3 * 86_400

type Scripted = Redis & {
  ogReserve(k1: string, k2: string, ...args: (string | number)[]): Promise<[number, number]>
  ogRelease(k1: string, k2: string, ...args: (string | number)[]): Promise<number>
  ogRecordCreated(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    k5: string,
    k6: string,
    ...args: (string | number)[]
  ): Promise<number>
  ogRecordStatus(k1: string, ...args: (string | number)[]): Promise<number>
  ogBeginIdempotent(k1: string, ...args: (string | number)[]): Promise<string[]>
  ogAbandonIdempotent(k1: string): Promise<number>
  ogConsumeAllowance(k1: string, max: number, expiresAt: number): Promise<number>
}

export function connectRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    // Fail fast while Redis is away: a limit check must answer 503 now, not hang.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  })
}

function defineScripts(redis: Redis): Scripted {
  const define = (name: string, numberOfKeys: number, lua: string) => {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua })
  }
  define('ogReserve', 2, scripts.RESERVE)
  define('ogRelease', 2, scripts.RELEASE)
  define('ogRecordCreated', 6, scripts.RECORD_CREATED)
  define('ogRecordStatus', 1, scripts.RECORD_STATUS)
  define('ogBeginIdempotent', 1, scripts.BEGIN_IDEMPOTENT)
  define('ogAbandonIdempotent', 1, scripts.ABANDON_IDEMPOTENT)
  define('ogConsumeAllowance', 1, scripts.CONSUME_ALLOWANCE)
  return redis as Scripted
}

function toRecord(h: Record<string, string>): TaskRecord {
  return {
    taskId: h.taskId as string,
    tenantId: h.tenantId as string,
    keyId: h.keyId as string,
    model: h.model as CanonicalModel,
    billableSeconds: Number(h.billableSeconds),
    resolution: h.resolution as string,
    recordedAt: Number(h.recordedAt),
    upstreamCreatedAt: Number(h.upstreamCreatedAt),
    status: h.status as string,
    lastAnswer: h.lastAnswer ?? null,
    lastCheckedAt: h.lastCheckedAt === undefined ? null : Number(h.lastCheckedAt),
  }
}

/** Maps a Redis failure to 503 so that nothing proceeds on an unchecked limit. */
function guarded<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args)
        } catch (err) {
          throw err instanceof GatewayError ? err : storeUnavailable(err)
        }
      }
    },
  })
}

/** The shared store: any number of replicas on one Redis act as one gateway. */
export function redisStore(client: Redis, prefix = 'og:'): GatewayStore {
  const redis = defineScripts(client)
  const k = {
    task: (id: string) => `${prefix}task:${id}`,
    tenantTasks: (tenant: string) => `${prefix}tasks:${tenant}`,
    inflight: (tenant: string) => `${prefix}inflight:${tenant}`,
    daily: (tenant: string, day: string) => `${prefix}daily:${tenant}:${day}`,
    usage: (tenant: string, day: string) => `${prefix}usage:${tenant}:${day}`,
    allowance: (key: string) => `${prefix}allowance:${key}`,
    idem: (tenant: string, key: string) =>
      `${prefix}idem:${tenant}:${createHash('sha256').update(key).digest('hex')}`,
  }

  const loadTasks = async (ids: string[]) => {
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(k.task(id))
    const results = (await pipeline.exec()) ?? []
    return results.map(([err, h]) => {
      if (err) throw err
      return toRecord(h as Record<string, string>)
    })
  }

  const store: GatewayStore = {
    ...redisDeliveries(redis, prefix, loadTasks),
    async recordCreated(task, r) {
      const fields = Object.entries({ ...task, day: r.day }).flatMap(([name, value]) => [name, String(value)])
      await redis.ogRecordCreated(
        k.task(task.taskId),
        k.tenantTasks(task.tenantId),
        k.inflight(task.tenantId),
        k.usage(task.tenantId, r.day),
        deliveryKeys(prefix).unfinished,
        k.daily(task.tenantId, r.day),
        r.id,
        task.taskId,
        task.recordedAt,
        r.expiresAt,
        task.model,
        task.billableSeconds,
        USAGE_TTL_S,
        DAILY_TTL_S,
        r.held ? 1 : 0,
        ...fields,
      )
    },
    async findOwned(tenantId, taskId) {
      const h = await redis.hgetall(k.task(taskId))
      return h.tenantId === tenantId ? toRecord(h) : undefined
    },
    async listOwned(tenantId, limit, after?: ListPosition) {
      const ids: string[] = []
      const max = after ? String(after.recordedAt) : '+inf'
      for (let offset = 0; ids.length < limit; ) {
        const batch = await redis.zrange(
          k.tenantTasks(tenantId),
          max,
          '-inf',
          'BYSCORE',
          'REV',
          'LIMIT',
          offset,
          limit + 16,
          'WITHSCORES',
        )
        for (let i = 0; i < batch.length && ids.length < limit; i += 2) {
          const id = batch[i] as string
          const score = Number(batch[i + 1])
          if (!after || score < after.recordedAt || id < after.taskId) ids.push(id)
        }
        if (batch.length < 2 * (limit + 16)) break
        offset += limit + 16
      }
      return loadTasks(ids)
    },
    async recordStatus(taskId, update, notify = false) {
      const becameFinal = await redis.ogRecordStatus(
        k.task(taskId),
        update.status,
        update.answer,
        update.checkedAt,
        prefix,
        USAGE_TTL_S,
        notify ? 1 : 0,
        deliveryIdOf(taskId),
      )
      return becameFinal === 1
    },
    async reserve(r, limits, now) {
      const [verdict, count] = await redis.ogReserve(
        k.inflight(r.tenantId),
        k.daily(r.tenantId, r.day),
        now,
        limits.maxConcurrentTasks ?? -1,
        limits.dailyVideoSeconds ?? -1,
        r.seconds,
        r.id,
        r.expiresAt,
        DAILY_TTL_S,
      )
      if (verdict === 1) return { ok: false, reason: 'concurrency', inFlight: count }
      if (verdict === 2) return { ok: false, reason: 'quota', used: count }
      return { ok: true }
    },
    async release(r) {
      await redis.ogRelease(k.inflight(r.tenantId), k.daily(r.tenantId, r.day), r.id, r.seconds)
    },
    async beginIdempotent(tenantId, key, fingerprint, t): Promise<IdempotencyBegin> {
      const [state, status, body] = await redis.ogBeginIdempotent(
        k.idem(tenantId, key),
        fingerprint,
        t.now,
        t.keepMs,
        t.pendingMs,
      )
      if (state === 'replay') return { state, status: Number(status), body: body ?? '' }
      return { state: state as 'started' | 'in-flight' | 'mismatch' }
    },
    async completeIdempotent(tenantId, key, status, body) {
      await redis.hset(k.idem(tenantId, key), 'done', '1', 'status', String(status), 'body', body)
    },
    async abandonIdempotent(tenantId, key) {
      await redis.ogAbandonIdempotent(k.idem(tenantId, key))
    },
    async consumeAllowance(key, max, expiresAt) {
      return (await redis.ogConsumeAllowance(k.allowance(key), max, expiresAt)) === 1
    },
    async refundAllowance(key) {
      await redis.decr(k.allowance(key))
    },
    async usage(tenantId, fromDay, toDay) {
      const days: string[] = []
      for (let t = Date.parse(`${toDay}T00:00:00Z`); utcDay(t) >= fromDay; t -= DAY_MS) days.push(utcDay(t))
      const pipeline = redis.pipeline()
      for (const day of days) pipeline.hgetall(k.usage(tenantId, day))
      const results = (await pipeline.exec()) ?? []
      const rows: UsageRow[] = []
      results.forEach(([err, h], i) => {
        if (err) throw err
        const counts = h as Record<string, string>
        const models = [...new Set(Object.keys(counts).map((f) => f.split('|')[0] as string))].sort()
        for (const model of models) {
          rows.push({
            date: days[i] as string,
            model,
            tasks: Number(counts[`${model}|tasks`] ?? 0),
            failed: Number(counts[`${model}|failed`] ?? 0),
            video_seconds: Number(counts[`${model}|seconds`] ?? 0),
          })
        }
      })
      return rows
    },
    async today(tenantId, day, now) {
      const [used, inFlight] = await Promise.all([
        redis.get(k.daily(tenantId, day)),
        redis.zcount(k.inflight(tenantId), `(${now}`, '+inf'),
      ])
      return { secondsUsed: Number(used ?? 0), inFlight }
    },
    async ping() {
      await redis.ping()
    },
    async close() {
      if (redis.status !== 'end') await redis.quit().catch(() => redis.disconnect())
    },
  }
  return guarded(store)
}
