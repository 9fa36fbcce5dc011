import { Agent, request } from 'undici'
import type { Deps } from '../app.js'
import type { Config } from '../config/env.js'
import type { Delivery } from '../store/types.js'
import { USER_AGENT } from '../upstream/client.js'
import { signatureHeader } from './sign.js'

/** Most webhook requests in flight at once, per gateway process. */
export const WEBHOOK_CONCURRENCY = 8

/** Waits before the 2nd, 3rd … attempt; hourly after the last entry, until WEBHOOK_MAX_AGE_MS. */
export const RETRY_SCHEDULE_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000]

/** The wait after `failedAttempts` failed attempts, plus up to 20 % jitter so receivers are not hit in waves. */
export function retryDelayMs(failedAttempts: number, random: () => number = Math.random): number {
  const index = Math.min(Math.max(failedAttempts, 1), RETRY_SCHEDULE_MS.length) - 1
  const base = RETRY_SCHEDULE_MS[index] as number
  return Math.round(base * (1 + 0.2 * random()))
}

type Outcome = { ok: boolean; detail: string } | 'abandoned'

/**
 * Sends the webhooks the store holds: every WEBHOOK_POLL_MS (or at once when woken) it claims the
 * due deliveries, POSTs each to its tenant's webhook_url signed per Standard Webhooks, and then
 * completes, reschedules (with backoff) or drops it. Claims are leases in the store, so replicas
 * and a restarted process share the queue without sending one delivery twice at the same time.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined
  private running = false
  private ticking: Promise<void> | undefined
  private wokenDuringTick = false
  private backlog = false
  private storeFailing = false
  private readonly inFlight = new Set<Promise<void>>()
  private readonly closing = new AbortController()
  private readonly agent: Agent
  /** Longer than any attempt can take, so a lease only runs out when its process died mid-attempt. */
  private readonly leaseMs: number

  constructor(
    private readonly deps: Pick<Deps, 'store' | 'tenants' | 'clock' | 'metrics' | 'logger'>,
    private readonly config: Pick<Config, 'webhookPollMs' | 'webhookTimeoutMs' | 'webhookMaxAgeMs'>,
  ) {
    const timeout = config.webhookTimeoutMs
    this.agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connect: { timeout } })
    this.leaseMs = timeout + 30_000
  }

  start(): void {
    if (this.running || this.closing.signal.aborted) return
    this.running = true
    this.schedule(0)
  }

  /** Looks for due deliveries now rather than at the next poll (a task just became final). */
  wake(): void {
    if (!this.running) return
    if (this.ticking) this.wokenDuringTick = true
    else this.schedule(0)
  }

  /**
   * Stops polling and abandons the attempts in flight: each is handed back to the store as due
   * now (not counted as an attempt), so the next process or another replica sends it at once.
   */
  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.closing.abort()
    await this.ticking
    await Promise.allSettled([...this.inFlight])
    await this.agent.destroy().catch(() => {})
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), ms)
    this.timer.unref()
  }

  private tick(): void {
    if (!this.running || this.ticking) return
    this.wokenDuringTick = false
    this.ticking = this.claimAndSend().finally(() => {
      this.ticking = undefined
      if (this.running) this.schedule(this.wokenDuringTick ? 0 : this.config.webhookPollMs)
    })
  }

  private async claimAndSend(): Promise<void> {
    const room = WEBHOOK_CONCURRENCY - this.inFlight.size
    if (room <= 0) return
    let due: Delivery[]
    try {
      due = await this.deps.store.claimDueDeliveries(this.deps.clock.now(), room, this.leaseMs)
      if (this.storeFailing) this.deps.logger.info('webhook deliveries: store reachable again')
      this.storeFailing = false
    } catch (err) {
      if (!this.storeFailing)
        this.deps.logger.warn({ reason: (err as Error).message }, 'webhook deliveries: store unreachable')
      this.storeFailing = true
      return
    }
    this.backlog = due.length === room
    for (const delivery of due) {
      const attempt: Promise<void> = this.deliver(delivery)
        .catch((err: Error) => {
          // The store did not take the outcome: the lease runs out and the delivery is tried again.
          this.deps.logger.warn(
            { deliveryId: delivery.id, taskId: delivery.taskId, reason: err.message },
            'webhook outcome not recorded; it will be sent again when its lease ends',
          )
        })
        .finally(() => {
          this.inFlight.delete(attempt)
          if (this.backlog) this.wake()
        })
      this.inFlight.add(attempt)
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    const { store, metrics, logger, clock } = this.deps
    const tenant = this.deps.tenants.tenant(d.tenantId)
    const log = { deliveryId: d.id, taskId: d.taskId, tenant: d.tenantId, attempt: d.attempts + 1 }
    if (!tenant?.webhook_url || !tenant.webhook_secrets) {
      await store.dropDelivery(d.id)
      metrics.webhookDeliveries.inc({ outcome: 'dropped' })
      logger.warn(log, 'webhook dropped: the tenant no longer has a webhook_url')
      return
    }
    const outcome = await this.post(tenant.webhook_url, tenant.webhook_secrets, d)
    const now = clock.now()
    if (outcome === 'abandoned') {
      await store.rescheduleDelivery(d.id, d.attempts, now)
      return
    }
    const receiver = new URL(tenant.webhook_url).origin
    if (outcome.ok) {
      await store.completeDelivery(d.id)
      metrics.webhookDeliveries.inc({ outcome: 'delivered' })
      logger.info({ ...log, receiver, result: outcome.detail }, 'webhook delivered')
      return
    }
    const attempts = d.attempts + 1
    const next = now + retryDelayMs(attempts)
    if (next - d.firstAttemptAt > this.config.webhookMaxAgeMs) {
      await store.dropDelivery(d.id)
      metrics.webhookDeliveries.inc({ outcome: 'dropped' })
      logger.error(
        { ...log, receiver, result: outcome.detail, maxAgeMs: this.config.webhookMaxAgeMs },
        'webhook dropped: no 2xx from the receiver within WEBHOOK_MAX_AGE_MS',
      )
      return
    }
    await store.rescheduleDelivery(d.id, attempts, next)
    metrics.webhookDeliveries.inc({ outcome: 'retry' })
    logger.warn(
      { ...log, receiver, result: outcome.detail, retryInMs: next - now },
      'webhook failed; will retry',
    )
  }

  private async post(url: string, secrets: string[], d: Delivery): Promise<Outcome> {
    const timeoutMs = this.config.webhookTimeoutMs
    if (this.closing.signal.aborted) return 'abandoned'
    // The receiver checks the timestamp against its own clock: always the wall clock.
    const timestamp = Math.floor(Date.now() / 1000)
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(timeoutMs)])
    let status: number
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': `${USER_AGENT} (webhooks)`,
          'webhook-id': d.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(secrets, d.id, timestamp, d.payload),
        },
        body: d.payload,
      })
      status = response.statusCode
      await response.body.dump({ limit: 65_536, signal }).catch(() => {})
    } catch (err) {
      if (this.closing.signal.aborted) return 'abandoned'
      const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message
      return { ok: false, detail: reason }
    }
    return { ok: status >= 200 && status < 300, detail: `HTTP ${status}` }
  }
}
