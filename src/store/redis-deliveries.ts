import type { Redis } from 'ioredis'
import type { Delivery, DeliveryStore, TaskRecord, TaskStore } from './types.js'

/**
 * Webhook deliveries and the refresher's work list in Redis:
 * - `webhooks:due`: zset of delivery ids scored by their next attempt (ms);
 * - `webhook:<id>`: hash of one delivery (tenantId, taskId, payload, attempts, firstAttemptAt);
 * - `unfinished`: zset of task ids not yet final, scored by lastCheckedAt (maintained by the
 *   RECORD_CREATED and RECORD_STATUS scripts; a task never checked scores below every check).
 */

/** Never-checked tasks score recordedAt - this, below any real check time, oldest task first. */
export const NEVER_CHECKED_OFFSET = 1e13

/** KEYS: due zset. ARGV: now, limit, lease until, delivery key prefix */
const CLAIM_DUE = `
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2], 'WITHSCORES')
local out = {}
for i = 1, #due, 2 do
  local id = due[i]
  local h = redis.call('HMGET', ARGV[4] .. id, 'tenantId', 'taskId', 'payload', 'attempts', 'firstAttemptAt')
  if not h[1] then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = {id, h[1], h[2], h[3], h[4], h[5], due[i + 1]}
  end
end
return out`

/** KEYS: due zset, delivery hash. ARGV: id, attempts, next attempt */
const RESCHEDULE = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'attempts', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1`

/**
 * KEYS: unfinished zset. ARGV: recorded after (exclusive), checked before (exclusive), limit, task key prefix.
 * Entries whose task is gone, final, or older than the maximum age leave the index as they are met:
 * the refresher never looks at them again, so the scan does not grow with tasks that never ended.
 */
const LIST_UNFINISHED = `
local out = {}
local limit = tonumber(ARGV[3])
local minRecorded = tonumber(ARGV[1])
local batch = limit + 64
local offset = 0
local budget = 10 * limit + 1000
while #out < limit and budget > 0 do
  local ids = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', offset, batch)
  local kept = 0
  for _, id in ipairs(ids) do
    local h = redis.call('HMGET', ARGV[4] .. id, 'status', 'recordedAt')
    if (not h[1]) or h[1] == 'completed' or h[1] == 'failed' or tonumber(h[2]) <= minRecorded then
      redis.call('ZREM', KEYS[1], id)
    else
      kept = kept + 1
      if #out < limit then out[#out + 1] = id end
    end
  end
  budget = budget - #ids
  offset = offset + kept
  if #ids < batch then break end
end
return out`

type Scripted = Redis & {
  ogClaimDue(k1: string, ...args: (string | number)[]): Promise<string[][]>
  ogReschedule(k1: string, k2: string, ...args: (string | number)[]): Promise<number>
  ogListUnfinished(k1: string, ...args: (string | number)[]): Promise<string[]>
}

function defineScripts(redis: Redis): Scripted {
  const define = (name: string, numberOfKeys: number, lua: string) => {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua })
  }
  define('ogClaimDue', 1, CLAIM_DUE)
  define('ogReschedule', 2, RESCHEDULE)
  define('ogListUnfinished', 1, LIST_UNFINISHED)
  return redis as Scripted
}

export const deliveryKeys = (prefix: string) => ({
  due: `${prefix}webhooks:due`,
  /** Prefix of a delivery's hash key; the delivery id follows. */
  delivery: `${prefix}webhook:`,
  unfinished: `${prefix}unfinished`,
})

export function redisDeliveries(
  client: Redis,
  prefix: string,
  loadTasks: (ids: string[]) => Promise<TaskRecord[]>,
): DeliveryStore & Pick<TaskStore, 'listUnfinished'> {
  const redis = defineScripts(client)
  const k = deliveryKeys(prefix)
  const forget = async (id: string) => {
    await redis.multi().zrem(k.due, id).del(`${k.delivery}${id}`).exec()
  }
  return {
    async claimDueDeliveries(now, limit, leaseMs) {
      const rows = await redis.ogClaimDue(k.due, now, limit, now + leaseMs, k.delivery)
      return rows.map(
        ([id, tenantId, taskId, payload, attempts, firstAttemptAt, due]): Delivery => ({
          id: id as string,
          tenantId: tenantId as string,
          taskId: taskId as string,
          payload: payload as string,
          attempts: Number(attempts),
          nextAttemptAt: Number(due),
          firstAttemptAt: Number(firstAttemptAt),
        }),
      )
    },
    completeDelivery: forget,
    dropDelivery: forget,
    async rescheduleDelivery(id, attempts, nextAttemptAt) {
      await redis.ogReschedule(k.due, `${k.delivery}${id}`, id, attempts, nextAttemptAt)
    },
    async listUnfinished(now, maxAgeMs, staleBefore, limit) {
      const ids = await redis.ogListUnfinished(
        k.unfinished,
        now - maxAgeMs,
        staleBefore,
        limit,
        `${prefix}task:`,
      )
      return ids.length === 0 ? [] : loadTasks(ids)
    },
  }
}
