import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildOpenApiDocument } from '../src/openapi.js'

describe('the OpenAPI document', () => {
  it('is committed exactly as the routes generate it (run `npm run openapi` after a change)', async () => {
    const committed = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')
    expect(committed).toBe(await buildOpenApiDocument())
  })

  it('documents every tenant route with the schemas the routes validate with', async () => {
    const doc = JSON.parse(await buildOpenApiDocument())
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/admin/tenants',
        '/admin/usage',
        '/healthz',
        '/metrics',
        '/readyz',
        '/v1/browser-tokens',
        '/v1/gemini/omni/videos',
        '/v1/usage',
        '/v1/videos',
        '/v1/videos/{taskId}',
        '/v1/videos/{taskId}/events',
      ].sort(),
    )
    const create = doc.paths['/v1/gemini/omni/videos'].post
    const body = create.requestBody.content['application/json'].schema
    expect(body.additionalProperties).toBe(false)
    expect(body.properties.duration.anyOf.map((o: { enum: number[] }) => o.enum[0])).toEqual([4, 6, 8, 10])
    expect(create.responses['400'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/ErrorEnvelope',
    )
  })
})
