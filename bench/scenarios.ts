import type { LoadRequest } from './common.js'
import { CREATE_PATH, queryPath, type RunningTarget, type SimulatorProcess } from './targets.js'

/** What is measured: each scenario prepares tasks on a fresh target and says what the load generator sends. */

export type ScenarioName = 'forward' | 'completed' | 'create'

export interface Scenario {
  name: ScenarioName
  title: string
  /** Gateway settings for this scenario. */
  gatewayEnv: Record<string, string>
  /** Creates what the load needs on `target` (backed by `sim`) and returns the requests to send. */
  prepare(target: RunningTarget, sim: SimulatorProcess): Promise<LoadRequest[]>
}

export const CREATE_BODY = JSON.stringify({ model: 'Gemini-Omini', prompt: 'bench', duration: 6 })

/**
 * Polls cycle through this many distinct tasks: the gateway shares one upstream call among concurrent
 * polls of one task, and with the 256 tasks dealt out among 50 connections (5 or 6 each) no two polls
 * of one task are ever in flight together, so every poll is its own upstream call.
 */
export const TASK_POOL = 256

async function create(target: RunningTarget): Promise<string> {
  const res = await fetch(target.url + CREATE_PATH, {
    method: 'POST',
    headers: { authorization: target.authorization, 'content-type': 'application/json' },
    body: CREATE_BODY,
  })
  const body = (await res.json()) as { data?: { task_id?: string } }
  const id = body.data?.task_id
  if (res.status !== 200 || typeof id !== 'string') {
    throw new Error(`${target.kind}: create answered ${res.status} ${JSON.stringify(body)}`)
  }
  return id
}

async function get(target: RunningTarget, taskId: string) {
  const res = await fetch(target.url + queryPath(taskId), {
    headers: { authorization: target.authorization },
  })
  const body = (await res.json()) as { data?: { status?: string } }
  if (res.status !== 200)
    throw new Error(`${target.kind}: query answered ${res.status} ${JSON.stringify(body)}`)
  return { status: body.data?.status, source: res.headers.get('x-gateway-source') }
}

async function inBatches<T>(count: number, width: number, each: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < count; i += width) {
    const batch = await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => each(i + j)))
    out.push(...batch)
  }
  return out
}

/**
 * Polls each task through the target until it answers `completed`: the gateway then holds it as final.
 * The gateway may answer a first poll from the copy it made at create time (QUERY_FRESHNESS_MS), so a
 * task can take a few rounds.
 */
async function pollUntilCompleted(target: RunningTarget, ids: string[]) {
  let pending = ids
  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 250))
    if (round > 60) throw new Error(`${target.kind}: ${pending.length} tasks never answered completed`)
    const answers = await inBatches(pending.length, 32, (i) => get(target, pending[i] as string))
    pending = pending.filter((_, i) => answers[i]?.status !== 'completed')
  }
}

const createPool = (target: RunningTarget) => inBatches(TASK_POOL, 16, () => create(target))

const polls = (ids: string[], mode: 'dealt' | 'perConnection'): LoadRequest[] => [
  { method: 'GET', paths: ids.map(queryPath), [mode]: true },
]

export const SCENARIOS: Scenario[] = [
  {
    name: 'forward',
    title: 'queries, pure forwarding (QUERY_FRESHNESS_MS=0, tasks never final)',
    gatewayEnv: { QUERY_FRESHNESS_MS: '0' },
    async prepare(target) {
      const ids = await createPool(target)
      const first = await get(target, ids[0] as string)
      if (first.status === 'completed' || first.status === 'failed') throw new Error('forward: task is final')
      return polls(ids, 'dealt')
    },
  },
  {
    name: 'completed',
    title: 'polls of a completed task (the gateway answers from its store)',
    gatewayEnv: {},
    async prepare(target, sim) {
      const ids = await createPool(target)
      const owner = target.self ?? sim
      await inBatches(ids.length, 16, (i) => owner.finish(ids[i] as string))
      await pollUntilCompleted(target, ids)
      const again = await get(target, ids[0] as string)
      if (again.status !== 'completed') throw new Error(`completed: task is ${again.status}`)
      if (target.kind === 'gateway' && again.source !== 'store') {
        throw new Error(`completed: the gateway answered from ${again.source}, not its store`)
      }
      // Answers of a finished task are the same however many ask at once: no shared counter needed.
      return polls(ids, 'perConnection')
    },
  },
  {
    name: 'create',
    title: 'creates (validated, recorded, forwarded)',
    gatewayEnv: {},
    async prepare() {
      return [
        {
          method: 'POST',
          paths: [CREATE_PATH],
          body: CREATE_BODY,
          headers: { 'content-type': 'application/json' },
        },
      ]
    },
  },
]
