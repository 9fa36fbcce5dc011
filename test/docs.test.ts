import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')
const settings = [
  ...new Set([...read('src/config/env.ts').matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)].map((m) => m[1])),
]

describe('the operator documentation', () => {
  it('reads at least the settings the contract names', () => {
    expect(settings).toEqual(
      expect.arrayContaining(['PORT', 'UPSTREAM_API_KEY', 'REDIS_URL', 'BROWSER_TOKEN_SECRET']),
    )
  })

  it.each(settings)('lists %s in .env.example and the README', (name) => {
    expect(read('.env.example')).toContain(name)
    expect(read('README.md')).toContain(`\`${name}\``)
  })
})
