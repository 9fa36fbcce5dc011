import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const OPENAPI_INFO = {
  title: 'Omni Gateway',
  version: '0.1.0',
  description: [
    'A self-hosted gateway in front of the Gemini Omni video API. Same shapes as the upstream:',
    'a script written for the upstream only changes its base URL and key. Every route is also served',
    'under the upstream prefix /api/open-api (e.g. /api/open-api/v1/videos/{taskId}).',
    'Errors use the upstream envelope {code, msg, data: null, request_id, details}; the first three',
    'digits of code are the HTTP status.',
  ].join(' '),
}

/** Registers the OpenAPI generator; it must wrap the routes, so it is shared with fastify-plugin. */
export const openApi = fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: OPENAPI_INFO,
      components: {
        securitySchemes: {
          tenantKey: { type: 'http', scheme: 'bearer', description: 'a tenant key from the tenants file' },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN (admin routes are off without it)',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
})

export async function docsRoutes(app: FastifyInstance) {
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
