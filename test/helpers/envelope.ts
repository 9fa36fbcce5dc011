import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

/** What contract §7 lets a caller's X-Request-Id be; a replacement id must fit it too. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/

export interface ErrorBody {
  code: string
  msg: string
  data: null
  request_id: string
  details: { field: string; message: string }[]
}

/**
 * Asserts the gateway's own error envelope (contract §7): the real status, a five-digit string
 * `code` whose first three digits are that status, a message, `data: null`, the request id of the
 * response header, and `details`. With `field` (a JSON pointer such as `/duration` or
 * `/image_urls/1`), the first detail must point at it and the message must name its top-level field.
 */
export function expectErrorEnvelope(res: LightMyRequestResponse, status: number, field?: string): ErrorBody {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json() as ErrorBody
  expect(Object.keys(body).sort()).toEqual(['code', 'data', 'details', 'msg', 'request_id'])
  expect(body.code).toMatch(/^[1-5]\d{4}$/)
  expect(body.code.slice(0, 3)).toBe(String(status))
  expect(typeof body.msg).toBe('string')
  expect(body.msg.length).toBeGreaterThan(0)
  expect(body.data).toBeNull()
  expect(body.request_id).toMatch(REQUEST_ID_PATTERN)
  expect(body.request_id).toBe(res.headers['x-request-id'])
  expect(Array.isArray(body.details)).toBe(true)
  if (field !== undefined) {
    expect(body.details[0]?.field, body.msg).toBe(field)
    expect(typeof body.details[0]?.message).toBe('string')
    const topLevel = field.split('/').filter(Boolean)[0] ?? 'body'
    expect(body.msg).toContain(topLevel)
  }
  return body
}
