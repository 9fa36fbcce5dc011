import { LruMap } from 'toad-cache'
import type { GatewayStore, NewTask, TaskRecord } from './types.js'

type LastSeen = Pick<TaskRecord, 'status' | 'lastAnswer' | 'lastCheckedAt'>

// Written out, not spread: V8 gave every spread copy a hidden class of its own (about 400 bytes
// each, and polymorphic reads), as a heap snapshot of 20 000 cached tasks showed.
const taskRecord = (task: NewTask, last: LastSeen): TaskRecord => ({
  taskId: task.taskId,
  tenantId: task.tenantId,
  keyId: task.keyId,
  model: task.model,
  billableSeconds: task.billableSeconds,
  resolution: task.resolution,
  recordedAt: task.recordedAt,
  upstreamCreatedAt: task.upstreamCreatedAt,
  status: last.status,
  lastAnswer: last.lastAnswer,
  lastCheckedAt: last.lastCheckedAt,
})

/**
 * Keeps the tasks this process recorded or looked up in memory (bounded, least recently used out first), so a
 * poll costs no store read. A task's owner never changes, so a copy always answers "whose task is
 * this". Its status is this process's latest knowledge: with replicas another one may know newer,
 * which at worst costs one more upstream query (the store still decides when a task first ends).
 */
export function withTaskCache(store: GatewayStore, maxEntries = 10_000): GatewayStore {
  const cache = new LruMap<TaskRecord>(maxEntries)
  const keep = (task: TaskRecord) => cache.set(task.taskId, task)
  return Object.assign(Object.create(store) as GatewayStore, {
    findOwnedInMemory(tenantId: string, taskId: string) {
      const cached = cache.get(taskId)
      return cached?.tenantId === tenantId ? cached : undefined
    },
    async findOwned(tenantId: string, taskId: string) {
      const cached = cache.get(taskId)
      if (cached) return cached.tenantId === tenantId ? cached : undefined
      const task = await store.findOwned(tenantId, taskId)
      if (task) keep(task)
      return task
    },
    async recordCreated(...args: Parameters<GatewayStore['recordCreated']>) {
      await store.recordCreated(...args)
      const [task] = args
      keep(taskRecord(task, { status: task.status, lastAnswer: null, lastCheckedAt: null }))
    },
    async recordStatus(...args: Parameters<GatewayStore['recordStatus']>) {
      const [taskId, update] = args
      const becameFinal = await store.recordStatus(...args)
      const cached = cache.get(taskId)
      if (cached) {
        keep(
          taskRecord(cached, {
            status: update.status,
            lastAnswer: update.answer,
            lastCheckedAt: update.checkedAt,
          }),
        )
      }
      return becameFinal
    },
  })
}
