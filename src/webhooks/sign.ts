import { createHmac } from 'node:crypto'

const SECRET_PREFIX = 'whsec_'

/** The key bytes of a Standard Webhooks secret: the base64 after `whsec_`. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64')
}

/** One Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`. */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64')
  return `v1,${mac}`
}

/**
 * The `webhook-signature` header: one signature per secret, space-separated, so a receiver that
 * knows any one of them (the old or the new one while a secret is rotated) can verify.
 */
export function signatureHeader(
  secrets: string[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  return secrets.map((secret) => sign(secret, id, timestampSeconds, body)).join(' ')
}
