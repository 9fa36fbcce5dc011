import { randomUUID } from 'node:crypto'
import type { TenantLimits } from '../config/tenants-file.js'
import { GatewayError } from '../errors.js'
import { msUntilNextUtcMidnight, utcDay } from '../store/days.js'
import type { LimitsStore, Reservation, TenantLimitsInForce } from '../store/types.js'

/** How soon a caller refused for tasks in flight may usefully try again: about one poll interval. */
const CONCURRENCY_RETRY_AFTER_S = 10

export const limitsInForce = (limits: TenantLimits | undefined): TenantLimitsInForce => ({
  maxConcurrentTasks: limits?.max_concurrent_tasks,
  dailyVideoSeconds: limits?.daily_video_seconds,
})

/**
 * Holds a slot in flight and the create's billable seconds before anything is forwarded, so
 * that concurrent creates cannot together pass a limit (contract §5 step 4).
 */
export async function reserveCreate(
  store: LimitsStore,
  tenant: { id: string; limits?: TenantLimits },
  seconds: number,
  now: number,
  taskMaxAgeMs: number,
): Promise<Reservation> {
  const limits = limitsInForce(tenant.limits)
  const reservation: Reservation = {
    id: `reservation:${randomUUID()}`,
    tenantId: tenant.id,
    seconds,
    day: utcDay(now),
    expiresAt: now + taskMaxAgeMs,
    // Without a limit there is nothing for concurrent creates to overrun: nothing is stored, and
    // recording the task counts its seconds (a store write saved on every such create).
    held: limits.maxConcurrentTasks !== undefined || limits.dailyVideoSeconds !== undefined,
  }
  if (!reservation.held) return reservation
  const result = await store.reserve(reservation, limits, now)
  if (result.ok) return reservation
  if (result.reason === 'concurrency') {
    throw new GatewayError(
      429,
      '42902',
      `tenant ${tenant.id} already has ${result.inFlight} tasks in flight (max_concurrent_tasks ${limits.maxConcurrentTasks})`,
      [],
      { 'retry-after': String(CONCURRENCY_RETRY_AFTER_S) },
    )
  }
  const left = Math.max(0, (limits.dailyVideoSeconds ?? 0) - result.used)
  throw new GatewayError(
    429,
    '42903',
    `this create needs ${seconds} video seconds but tenant ${tenant.id} has ${left} left today (daily_video_seconds ${limits.dailyVideoSeconds})`,
    [],
    { 'retry-after': String(Math.ceil(msUntilNextUtcMidnight(now) / 1000)) },
  )
}
