import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../app.js'
import type { Config } from '../../config/env.js'
import { GatewayError } from '../../errors.js'
import { ErrorResponses } from '../../schemas/envelope.js'
import { CreatedEnvelope, CreateVideoBody } from '../../schemas/videos.js'
import { principalOf, type tenantAuth } from '../../tenants/auth.js'
import { allowsModel } from '../../tenants/registry.js'
import { acceptedTask, checkRelayable } from '../../upstream/map-error.js'
import { callUpstream } from '../upstream-call.js'
import { normalizeCreateRequest } from './normalize.js'

export function videoCreateRoute(
  deps: Pick<Deps, 'upstream' | 'tasks' | 'clock' | 'metrics'>,
  config: Pick<Config, 'maxPromptChars'>,
  authenticate: ReturnType<typeof tenantAuth>,
) {
  const plugin: FastifyPluginAsyncTypebox<{ hide: boolean }> = async (app, { hide }) => {
    app.post(
      '/v1/gemini/omni/videos',
      {
        onRequest: authenticate,
        schema: {
          hide,
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
        const answer = await callUpstream(request, deps.metrics, 'create', () =>
          deps.upstream.createTask(order.upstreamBody, request.id),
        )
        checkRelayable(answer)
        const task = acceptedTask(answer)
        if (task) {
          await deps.tasks.recordCreated({
            taskId: task.task_id,
            tenantId: principal.tenant.id,
            keyId: principal.keyId,
            model: order.model,
            billableSeconds: order.billableSeconds,
            resolution: order.resolution,
            recordedAt: deps.clock.now(),
            upstreamCreatedAt:
              typeof task.created_at === 'number' ? task.created_at : Math.floor(deps.clock.now() / 1000),
            status: typeof task.status === 'string' ? task.status : 'queued',
          })
          request.log.info(
            { taskId: task.task_id, model: order.model, seconds: order.billableSeconds },
            'task created',
          )
        }
        return reply.code(answer.status).type('application/json').send(answer.text)
      },
    )
  }
  return plugin
}
