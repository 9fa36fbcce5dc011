import { hash, randomBytes } from 'node:crypto'

export const KEY_PREFIX = 'og_'

/** 256 bits from the OS CSPRNG, base64url: safe in a header and in a shell. */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`
}

export function hashKey(key: string): string {
  return hash('sha256', key, 'hex')
}
