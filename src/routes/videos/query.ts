import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../app.js'
import { GatewayError } from '../../errors.js'
import { perMinuteLimit } from '../../limits/rate.js'
import { ErrorResponses } from '../../schemas/envelope.js'
import { TaskEnvelope, TaskIdParams } from '../../schemas/videos.js'
import type { TaskStatusReader } from '../../tasks/status-reader.js'
import { type Authenticate, principalOf } from '../../tenants/auth.js'

export function videoQueryRoute(
  deps: Pick<Deps, 'store'>,
  statusReader: TaskStatusReader,
  authenticate: Authenticate,
) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/v1/videos/:taskId',
      {
        onRequest: [authenticate, perMinuteLimit(app, 'query')],
        schema: {
          summary: 'Query a video task',
          description:
            'A task of another tenant gets the same 404 as an unknown id. Final answers and answers younger than QUERY_FRESHNESS_MS come from the store.',
          tags: ['videos'],
          security: [{ tenantKey: [] }],
          params: TaskIdParams,
          response: {
            200: TaskEnvelope,
            ...ErrorResponses,
            404: ErrorResponses[400],
            502: ErrorResponses[400],
          },
        },
      },
      async (request, reply) => {
        const { tenant } = principalOf(request)
        const { taskId } = request.params
        // Polls are the hot path: what memory can answer is answered without waiting on a promise.
        const task =
          deps.store.findOwnedInMemory?.(tenant.id, taskId) ?? (await deps.store.findOwned(tenant.id, taskId))
        if (!task) throw new GatewayError(404, '40401', 'no such task for this tenant')
        const answer = statusReader.fromStore(task) ?? (await statusReader.fromUpstream(task, request))
        return reply
          .code(answer.status)
          .type('application/json')
          .header('x-gateway-source', answer.source)
          .send(answer.text)
      },
    )
  }
  return plugin
}
