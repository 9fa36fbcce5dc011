// The two stores @fastify/rate-limit ships, which its typings do not export.
declare module '@fastify/rate-limit/store/LocalStore.js' {
  import type { RateLimitStore } from './rate.js'

  const LocalStore: new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    cache?: number,
  ) => RateLimitStore
  export default LocalStore
}
declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { Redis } from 'ioredis'
  import type { RateLimitStore } from './rate.js'

  const RedisStore: new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    redis: Redis,
    key?: string,
  ) => RateLimitStore
  export default RedisStore
}
