import type { FastifyPluginAsync } from 'fastify'
import type { Metrics } from '../observability/metrics.js'

export function metricsRoute(metrics: Metrics) {
  const plugin: FastifyPluginAsync = async (app) => {
    app.get(
      '/metrics',
      { schema: { summary: 'Prometheus metrics', tags: ['operations'] } },
      async (_request, reply) => {
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
      },
    )
  }
  return plugin
}
