import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Deps } from '../../app.js'
import { fieldError } from '../../errors.js'
import { perMinuteLimit } from '../../limits/rate.js'
import { ErrorResponses } from '../../schemas/envelope.js'
import { ListQuery, TaskListEnvelope, type TaskSummary } from '../../schemas/videos.js'
import type { ListPosition, TaskRecord } from '../../store/types.js'
import { type Authenticate, principalOf } from '../../tenants/auth.js'

const encodeCursor = (task: TaskRecord) =>
  Buffer.from(JSON.stringify([task.recordedAt, task.taskId])).toString('base64url')

function decodeCursor(cursor: string): ListPosition {
  try {
    const [recordedAt, taskId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof recordedAt === 'number' && typeof taskId === 'string') return { recordedAt, taskId }
  } catch {}
  throw fieldError('/cursor', 'is not a cursor this gateway handed out')
}

const toSummary = (task: TaskRecord): TaskSummary => ({
  task_id: task.taskId,
  model: task.model,
  status: task.status,
  created_at: task.upstreamCreatedAt,
  duration: task.billableSeconds,
  resolution: task.resolution,
})

export function videoListRoute(deps: Pick<Deps, 'store'>, authenticate: Authenticate) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/v1/videos',
      {
        onRequest: [authenticate, perMinuteLimit(app, 'query')],
        schema: {
          summary: "List the caller's tenant's tasks",
          description:
            'Newest first. Pass next_cursor back as cursor for the next page; null means the last page.',
          tags: ['videos'],
          security: [{ tenantKey: [] }],
          querystring: ListQuery,
          response: { 200: TaskListEnvelope, ...ErrorResponses },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request)
        const limit = request.query.limit ?? 20
        const after = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor)
        const page = await deps.store.listOwned(tenant.id, limit + 1, after)
        const items = page.slice(0, limit)
        const last = items.at(-1)
        const nextCursor = page.length > limit && last ? encodeCursor(last) : null
        return { code: '20000', msg: 'ok', data: { items: items.map(toSummary), next_cursor: nextCursor } }
      },
    )
  }
  return plugin
}
