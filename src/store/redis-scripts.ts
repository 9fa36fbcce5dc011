import { NEVER_CHECKED_OFFSET } from './redis-deliveries.js'

/**
 * Every check-and-change in Redis is one Lua script, so replicas sharing one Redis cannot race
 * between reading a count and changing it.
 */

/** KEYS: in-flight zset, daily seconds. ARGV: now, max (-1 none), quota (-1 none), seconds, id, expiresAt, ttl s */
export const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local max = tonumber(ARGV[2])
if max >= 0 then
  local n = redis.call('ZCARD', KEYS[1])
  if n >= max then return {1, n} end
end
local quota = tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if quota >= 0 and used + tonumber(ARGV[4]) > quota then return {2, used} end
redis.call('ZADD', KEYS[1], ARGV[6], ARGV[5])
redis.call('INCRBY', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return {0, 0}`

/** KEYS: in-flight zset, daily seconds. ARGV: id, seconds */
export const RELEASE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('DECRBY', KEYS[2], ARGV[2]) end
return 0`

/** KEYS: task hash, tenant task zset, in-flight zset, usage hash, unfinished zset, daily seconds.
 *  ARGV: reservation id, task id, recordedAt, expiresAt, model, seconds, usage ttl s, daily ttl s,
 *  held (1/0), then task fields as name/value pairs. A reservation that was not held (a tenant
 *  without limits) has its seconds counted here instead. */
export const RECORD_CREATED = `
local fields = {}
local status
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
for i = 10, #ARGV - 1, 2 do if ARGV[i] == 'status' then status = ARGV[i + 1] end end
redis.call('HSET', KEYS[1], unpack(fields))
if status ~= 'completed' and status ~= 'failed' then
  redis.call('ZADD', KEYS[5], tonumber(ARGV[3]) - ${NEVER_CHECKED_OFFSET}, ARGV[2])
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if ARGV[9] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('INCRBY', KEYS[6], ARGV[6])
  redis.call('EXPIRE', KEYS[6], ARGV[8])
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[5] .. '|tasks', 1)
redis.call('HINCRBY', KEYS[4], ARGV[5] .. '|seconds', ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[7])
return 0`

/** KEYS: task hash. ARGV: status, answer, checkedAt, key prefix, usage ttl s, notify (1/0), delivery id.
 *  Returns 1 when this update first made the task final (and then, with notify, enqueued its webhook). */
export const RECORD_STATUS = `
local before = redis.call('HMGET', KEYS[1], 'status', 'tenantId', 'day', 'model', 'taskId')
if not before[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'lastAnswer', ARGV[2], 'lastCheckedAt', ARGV[3])
local wasFinal = before[1] == 'completed' or before[1] == 'failed'
local isFinal = ARGV[1] == 'completed' or ARGV[1] == 'failed'
if isFinal then
  redis.call('ZREM', ARGV[4] .. 'unfinished', before[5])
else
  redis.call('ZADD', ARGV[4] .. 'unfinished', ARGV[3], before[5])
end
if wasFinal or not isFinal then return 0 end
redis.call('ZREM', ARGV[4] .. 'inflight:' .. before[2], before[5])
if ARGV[1] == 'failed' then
  local usage = ARGV[4] .. 'usage:' .. before[2] .. ':' .. before[3]
  redis.call('HINCRBY', usage, before[4] .. '|failed', 1)
  redis.call('EXPIRE', usage, ARGV[5])
end
if ARGV[6] == '1' then
  redis.call('HSET', ARGV[4] .. 'webhook:' .. ARGV[7], 'tenantId', before[2], 'taskId', before[5],
    'payload', ARGV[2], 'attempts', 0, 'firstAttemptAt', ARGV[3])
  redis.call('ZADD', ARGV[4] .. 'webhooks:due', ARGV[3], ARGV[7])
end
return 1`

/** KEYS: idempotency hash. ARGV: fingerprint, now, keepMs, pendingMs */
export const BEGIN_IDEMPOTENT = `
local row = redis.call('HMGET', KEYS[1], 'fp', 'done', 'status', 'body', 'createdAt')
local now = tonumber(ARGV[2])
if row[1] then
  local age = now - tonumber(row[5])
  local done = row[2] == '1'
  if (done and age < tonumber(ARGV[3])) or ((not done) and age < tonumber(ARGV[4])) then
    if row[1] ~= ARGV[1] then return {'mismatch'} end
    if not done then return {'in-flight'} end
    return {'replay', row[3], row[4]}
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'done', '0', 'createdAt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'started'}`

/** KEYS: idempotency hash */
export const ABANDON_IDEMPOTENT = `
if redis.call('HGET', KEYS[1], 'done') == '0' then redis.call('DEL', KEYS[1]) end
return 0`

/** KEYS: allowance counter. ARGV: max, expiresAt (epoch ms) */
export const CONSUME_ALLOWANCE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`
