import type { TenantEntry } from '../config/tenants-file.js'
import type { TenantUsage } from '../schemas/usage.js'
import { daysBack, utcDay } from '../store/days.js'
import type { LimitsStore } from '../store/types.js'

/** A tenant's usage over the last `days` UTC days, its limits and what is left today. */
export async function tenantUsage(
  store: LimitsStore,
  tenant: TenantEntry,
  days: number,
  now: number,
): Promise<TenantUsage> {
  const today = utcDay(now)
  const [rows, current] = await Promise.all([
    store.usage(tenant.id, daysBack(today, days), today),
    store.today(tenant.id, today, now),
  ])
  const quota = tenant.limits?.daily_video_seconds
  return {
    tenant: tenant.id,
    days: rows,
    limits: tenant.limits ?? {},
    today: {
      video_seconds_used: current.secondsUsed,
      video_seconds_left: quota === undefined ? null : Math.max(0, quota - current.secondsUsed),
      tasks_in_flight: current.inFlight,
    },
  }
}
