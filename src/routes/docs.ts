import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { UPSTREAM_PREFIX } from './prefix.js'

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
    // Every route is also served under /api/open-api; the document lists each once.
    transform: ({ schema, url }) => ({
      schema: { ...schema, hide: url.startsWith(UPSTREAM_PREFIX) || schema?.hide },
      url,
    }),
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
})

export async function docsRoutes(app: FastifyInstance) {
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })
  for (const prefix of ['', UPSTREAM_PREFIX]) {
    app.get(`${prefix}/openapi.json`, { schema: { hide: true } }, async () => app.swagger())
  }
  app.get(`${UPSTREAM_PREFIX}/docs`, { schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/docs/'),
  )
}
