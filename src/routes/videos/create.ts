import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../app.js'
import type { Config } from '../../config/env.js'
import { GatewayError } from '../../errors.js'
import { beginIdempotentCreate, idempotencyKeyOf } from '../../limits/idempotency.js'
import { perMinuteLimit } from '../../limits/rate.js'
import { ErrorResponses } from '../../schemas/envelope.js'
import { CreatedEnvelope, CreateVideoBody } from '../../schemas/videos.js'
import { type Authenticate, principalOf } from '../../tenants/auth.js'
import { allowsModel } from '../../tenants/registry.js'
import { normalizeCreateRequest } from './normalize.js'
import { type RelayedAnswer, submitCreate } from './submit.js'

export function videoCreateRoute(
  deps: Pick<Deps, 'upstream' | 'store' | 'clock' | 'metrics'>,
  config: Pick<Config, 'maxPromptChars' | 'taskMaxAgeMs' | 'upstreamTimeoutMs'>,
  authenticate: Authenticate,
) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.post(
      '/v1/gemini/omni/videos',
      {
        onRequest: [authenticate, perMinuteLimit(app, 'create')],
        schema: {
          summary: 'Create a video task',
          description:
            'Checked before it costs money, model aliases rewritten, forwarded with the server token; the task is recorded as the caller’s. Never retried.',
          tags: ['videos'],
          security: [{ tenantKey: [] }],
          body: CreateVideoBody,
          response: {
            200: CreatedEnvelope,
            ...ErrorResponses,
            403: ErrorResponses[400],
            502: ErrorResponses[400],
          },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request)
        const order = normalizeCreateRequest(request.body, config.maxPromptChars)
        if (!allowsModel(principal.tenant, order.model)) {
          throw new GatewayError(
            403,
            '40301',
            `model ${order.model} is not enabled for tenant ${principal.tenant.id}`,
            [{ field: '/model', message: 'is not enabled for this tenant' }],
          )
        }
        const idempotencyKey = idempotencyKeyOf(request)
        if (idempotencyKey === undefined) {
          const answer = await submitCreate(deps, config, request, principal, order)
          return reply.code(answer.status).type('application/json').send(answer.text)
        }
        const tenantId = principal.tenant.id
        const begun = await beginIdempotentCreate(
          deps.store,
          tenantId,
          idempotencyKey,
          request.body,
          deps.clock.now(),
          config.upstreamTimeoutMs,
        )
        if (begun.state === 'replay') {
          return reply
            .code(begun.status)
            .type('application/json')
            .header('idempotent-replayed', 'true')
            .send(begun.body)
        }
        let answer: RelayedAnswer
        try {
          answer = await submitCreate(deps, config, request, principal, order)
        } catch (err) {
          await deps.store.abandonIdempotent(tenantId, idempotencyKey)
          throw err
        }
        if (answer.accepted) {
          await deps.store.completeIdempotent(tenantId, idempotencyKey, answer.status, answer.text)
        } else {
          await deps.store.abandonIdempotent(tenantId, idempotencyKey)
        }
        return reply.code(answer.status).type('application/json').send(answer.text)
      },
    )
  }
  return plugin
}
