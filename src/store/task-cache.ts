import type { GatewayStore, TaskRecord } from './types.js'

/**
 * Keeps the tasks this process recorded or looked up in memory (bounded, oldest out first), so a
 * poll costs no store read. A task's owner never changes, so a copy always answers "whose task is
 * this". Its status is this process's latest knowledge: with replicas another one may know newer,
 * which at worst costs one more upstream query (the store still decides when a task first ends).
 */
export function withTaskCache(store: GatewayStore, maxEntries = 20_000): GatewayStore {
  const cache = new Map<string, TaskRecord>()
  const keep = (task: TaskRecord) => {
    if (!cache.has(task.taskId) && cache.size >= maxEntries) cache.delete(cache.keys().next().value as string)
    cache.set(task.taskId, task)
  }
  return Object.assign(Object.create(store) as GatewayStore, {
    async findOwned(tenantId: string, taskId: string) {
      const cached = cache.get(taskId)
      if (cached) return cached.tenantId === tenantId ? cached : undefined
      const task = await store.findOwned(tenantId, taskId)
      if (task) keep(task)
      return task
    },
    async recordCreated(...args: Parameters<GatewayStore['recordCreated']>) {
      await store.recordCreated(...args)
      keep({ ...args[0], lastAnswer: null, lastCheckedAt: null })
    },
    async recordStatus(...args: Parameters<GatewayStore['recordStatus']>) {
      const [taskId, update] = args
      const becameFinal = await store.recordStatus(...args)
      const cached = cache.get(taskId)
      if (cached) {
        cache.set(taskId, {
          ...cached,
          status: update.status,
          lastAnswer: update.answer,
          lastCheckedAt: update.checkedAt,
        })
      }
      return becameFinal
    },
  })
}
