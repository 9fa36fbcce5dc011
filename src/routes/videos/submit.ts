import { setTimeout } from 'node:timers/promises'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../app.js'
import type { Config } from '../../config/env.js'
import { GatewayError } from '../../errors.js'
import { reserveCreate } from '../../limits/admission.js'
import type { NewTask, Reservation } from '../../store/types.js'
import type { Principal } from '../../tenants/registry.js'
import { acceptedTask, checkRelayable } from '../../upstream/map-error.js'
import { callUpstream } from '../../upstream/timed-call.js'
import type { CreateOrder } from './normalize.js'

export interface RelayedAnswer {
  status: number
  text: string
  /** The upstream took the task (and it is recorded); only such an answer is kept for replay. */
  accepted: boolean
}

type SubmitDeps = Pick<Deps, 'upstream' | 'store' | 'clock' | 'metrics'>

/**
 * Reserves room under the tenant's limits, forwards the create once (never retried: a second
 * create is a second bill) and records an accepted task in place of its reservation. Anything
 * the upstream did not accept gives the reservation back.
 */
export async function submitCreate(
  deps: SubmitDeps,
  config: Pick<Config, 'taskMaxAgeMs'>,
  request: FastifyRequest,
  principal: Principal,
  order: CreateOrder,
): Promise<RelayedAnswer> {
  const { tenant } = principal
  const allowance = await takeTokenAllowance(deps, principal)
  let reservation: Reservation
  try {
    reservation = await reserveCreate(
      deps.store,
      tenant,
      order.billableSeconds,
      deps.clock.now(),
      config.taskMaxAgeMs,
    )
  } catch (err) {
    if (allowance) await deps.store.refundAllowance(allowance)
    throw err
  }
  let task: ReturnType<typeof acceptedTask>
  let answer: Awaited<ReturnType<SubmitDeps['upstream']['createTask']>>
  try {
    answer = await callUpstream(request, deps.metrics, 'create', () =>
      deps.upstream.createTask(order.upstreamBody, request.id),
    )
    checkRelayable(answer)
    task = acceptedTask(answer)
  } catch (err) {
    await giveBack(deps, request, reservation, allowance)
    throw err
  }
  if (!task) {
    await giveBack(deps, request, reservation, allowance)
    return { status: answer.status, text: answer.text, accepted: false }
  }
  const now = deps.clock.now()
  await recordAcceptedTask(
    deps,
    request,
    {
      taskId: task.task_id,
      tenantId: tenant.id,
      keyId: principal.keyId,
      model: order.model,
      billableSeconds: order.billableSeconds,
      resolution: order.resolution,
      recordedAt: now,
      upstreamCreatedAt: typeof task.created_at === 'number' ? task.created_at : Math.floor(now / 1000),
      status: typeof task.status === 'string' ? task.status : 'queued',
    },
    reservation,
  )
  deps.metrics.tasksCreated.inc({ tenant: tenant.id, model: order.model })
  request.log.info(
    { taskId: task.task_id, model: order.model, seconds: order.billableSeconds },
    'task created',
  )
  return { status: answer.status, text: answer.text, accepted: true }
}

/** The upstream has billed this task: a store blip must not lose it, so the write is retried for a while. */
const RECORD_ATTEMPTS = 8
const RECORD_BACKOFF_MS = 250

async function recordAcceptedTask(
  deps: SubmitDeps,
  request: FastifyRequest,
  task: NewTask,
  reservation: Reservation,
) {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.store.recordCreated(task, reservation)
      return
    } catch (err) {
      if (attempt >= RECORD_ATTEMPTS) {
        request.log.error(
          { err, taskId: task.taskId },
          'task accepted upstream but not recorded; the store stayed unreachable',
        )
        throw err
      }
      request.log.warn({ taskId: task.taskId, attempt }, 'store unreachable while recording a task; retrying')
      await setTimeout(RECORD_BACKOFF_MS * attempt)
    }
  }
}

/** A browser token minted with max_creates allows that many accepted creates in all. */
async function takeTokenAllowance(deps: SubmitDeps, principal: Principal): Promise<string | undefined> {
  const grant = principal.grant
  if (grant?.maxCreates === undefined) return undefined
  const key = `browser-token:${grant.jti}`
  if (!(await deps.store.consumeAllowance(key, grant.maxCreates, grant.expiresAt * 1000))) {
    throw new GatewayError(
      403,
      '40304',
      `this browser token allows ${grant.maxCreates} creates and has used them`,
    )
  }
  return key
}

async function giveBack(
  deps: SubmitDeps,
  request: FastifyRequest,
  reservation: Reservation,
  allowance?: string,
) {
  try {
    if (allowance) await deps.store.refundAllowance(allowance)
    await deps.store.release(reservation)
  } catch (err) {
    // The slot then ages out after TASK_MAX_AGE_MS: over-counting is the safe side of a paid limit.
    request.log.error({ err, reservation: reservation.id }, 'could not release a reservation')
  }
}
