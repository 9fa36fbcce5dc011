import { FINAL_STATUSES, type GatewayStore, type TaskRecord } from './types.js'

/**
 * Keeps tasks already seen completed or failed in memory: they no longer change, and polls of
 * finished tasks are the commonest request. Bounded (oldest out first); a status write for a task
 * drops its copy, so a re-checked expired video link is read from the store again.
 */
export function withFinalTaskCache(store: GatewayStore, maxEntries = 10_000): GatewayStore {
  const cache = new Map<string, TaskRecord>()
  return Object.assign(Object.create(store) as GatewayStore, {
    async findOwned(tenantId: string, taskId: string) {
      const cached = cache.get(taskId)
      if (cached) return cached.tenantId === tenantId ? cached : undefined
      const task = await store.findOwned(tenantId, taskId)
      if (task && FINAL_STATUSES.has(task.status) && task.lastAnswer !== null) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string)
        cache.set(taskId, task)
      }
      return task
    },
    async recordStatus(...args: Parameters<GatewayStore['recordStatus']>) {
      cache.delete(args[0])
      return store.recordStatus(...args)
    },
  })
}
