import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Deps } from '../app.js'
import { GatewayError } from '../errors.js'
import { Envelope } from '../schemas/envelope.js'

const Health = Envelope(
  Type.Object({
    status: Type.String(),
    upstream_circuit: Type.Optional(Type.String({ description: 'closed, half-open or open' })),
  }),
)

export function healthRoutes(deps: Pick<Deps, 'store' | 'upstream'>) {
  const plugin: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/healthz',
      { schema: { summary: 'The process is up', tags: ['operations'], response: { 200: Health } } },
      async () => ({ code: '20000', msg: 'ok', data: { status: 'up' } }),
    )
    app.get(
      '/readyz',
      {
        schema: {
          summary: 'The store is reachable',
          description: '503 with the failing check named in details when it is not.',
          tags: ['operations'],
          response: { 200: Health, 503: Type.Ref('ErrorEnvelope') },
        },
      },
      async () => {
        try {
          await deps.store.ping()
        } catch (err) {
          throw new GatewayError(
            503,
            '50303',
            'the store is not reachable',
            [{ field: 'store', message: 'unreachable' }],
            {
              'retry-after': '5',
            },
            { cause: err },
          )
        }
        return {
          code: '20000',
          msg: 'ok',
          data: { status: 'ready', upstream_circuit: deps.upstream.circuitState() },
        }
      },
    )
  }
  return plugin
}
