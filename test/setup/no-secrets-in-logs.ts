import { afterAll, expect } from 'vitest'
import { capturedLogLines, secretsInPlay } from '../helpers/secrets.js'

afterAll(() => {
  const leaks = capturedLogLines.filter((line) => [...secretsInPlay].some((secret) => line.includes(secret)))
  expect(leaks, 'log lines that contain the upstream token or a tenant key').toEqual([])
})
