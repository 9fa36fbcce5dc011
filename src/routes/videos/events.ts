import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../../app.js'
import { envelope, GatewayError } from '../../errors.js'
import { perMinuteLimit } from '../../limits/rate.js'
import { ErrorResponses } from '../../schemas/envelope.js'
import { TaskIdParams } from '../../schemas/videos.js'
import type { TaskWatcher } from '../../tasks/watcher.js'
import { type Authenticate, principalOf } from '../../tenants/auth.js'

const HEARTBEAT_MS = 15_000

const EventsQuery = Type.Object(
  {
    access_token: Type.Optional(
      Type.String({
        description: 'a browser token, for EventSource, which cannot send an Authorization header',
      }),
    ),
  },
  { additionalProperties: false },
)

export function videoEventsRoute(
  deps: Pick<Deps, 'store'>,
  watcher: TaskWatcher,
  maxLifetimeMs: number,
  authenticate: Authenticate,
) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/v1/videos/:taskId/events',
      {
        onRequest: [authenticate, perMinuteLimit(app, 'query')],
        schema: {
          summary: 'Stream a task’s status changes (Server-Sent Events)',
          description:
            'One `status` event per change of status or progress (data: the task as GET /v1/videos/{taskId} shows it); the stream ends after completed or failed. `error` events carry the error envelope; `: keep-alive` comments every 15 s; after EVENTS_MAX_LIFETIME_MS a `timeout` event ends it (reconnect to go on).',
          tags: ['videos'],
          security: [{ tenantKey: [] }],
          params: TaskIdParams,
          querystring: EventsQuery,
          produces: ['text/event-stream'],
          response: {
            200: Type.String({ description: 'text/event-stream' }),
            ...ErrorResponses,
            404: ErrorResponses[400],
          },
        },
      },
      async (request, reply) => {
        const { tenant } = principalOf(request)
        const task = await deps.store.findOwned(tenant.id, request.params.taskId)
        if (!task) throw new GatewayError(404, '40401', 'no such task for this tenant')

        reply.hijack()
        const raw = reply.raw
        raw.writeHead(200, {
          ...(reply.getHeaders() as Record<string, string>),
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
        })
        raw.write('retry: 3000\n\n')
        let sequence = 0
        const send = (event: string, data: unknown) =>
          raw.write(`id: ${++sequence}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
        const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS)
        const lifetime = setTimeout(() => {
          send('timeout', { task_id: task.taskId, reconnect: true })
          finish()
        }, maxLifetimeMs)
        const unsubscribe = watcher.subscribe(task, {
          onEvent: (event) => send('status', event.data),
          onError: (error) => send('error', envelope(error, request.id)),
          onEnd: () => finish(),
        })
        function finish() {
          clearInterval(heartbeat)
          clearTimeout(lifetime)
          unsubscribe()
          if (!raw.writableEnded) raw.end()
        }
        raw.on('close', finish)
        request.log.info({ taskId: task.taskId }, 'task events stream opened')
      },
    )
  }
  return plugin
}
