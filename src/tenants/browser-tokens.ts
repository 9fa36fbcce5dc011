import { randomUUID } from 'node:crypto'
import { createSigner, createVerifier } from 'fast-jwt'
import type { Clock } from '../app.js'
import { GatewayError } from '../errors.js'
import type { Principal, TenantRegistry } from './registry.js'
import { DEFAULT_TTL_S } from './token-shape.js'

const AUDIENCE = 'omni-gateway-browser'

/** What a page's token allows: its tenant and minting key, and optionally one origin and a number of creates. */
export interface BrowserGrant {
  jti: string
  origin: string | undefined
  maxCreates: number | undefined
  /** Epoch seconds. */
  expiresAt: number
}

interface Claims {
  aud: string
  sub: string
  key: string
  jti: string
  iat: number
  exp: number
  origin?: string
  max_creates?: number
}

const invalidToken = (why: string) =>
  new GatewayError(401, '40103', `the browser token ${why}; mint a new one`, [], {
    'www-authenticate': 'Bearer',
  })

/**
 * Short-lived HS256 tokens a backend mints with its tenant key for a web page. They are checked
 * without a store lookup; the minting key is looked up in the tenants in force, so revoking the
 * key revokes every token it minted.
 */
export function browserTokens(secret: string, clock: Clock, registry: TenantRegistry) {
  const sign = createSigner({ key: secret, algorithm: 'HS256', noTimestamp: true })
  const verify = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedAud: AUDIENCE,
    ignoreExpiration: true,
  })

  return {
    mint(principal: Principal, options: { ttlSeconds?: number; origin?: string; maxCreates?: number }) {
      const iat = Math.floor(clock.now() / 1000)
      const claims: Claims = {
        aud: AUDIENCE,
        sub: principal.tenant.id,
        key: principal.keyId,
        jti: randomUUID(),
        iat,
        exp: iat + (options.ttlSeconds ?? DEFAULT_TTL_S),
        ...(options.origin === undefined ? {} : { origin: options.origin }),
        ...(options.maxCreates === undefined ? {} : { max_creates: options.maxCreates }),
      }
      return { token: sign(claims as unknown as Record<string, unknown>), expiresAt: claims.exp }
    },

    /** The principal behind a token; 401 when it is forged, expired or its key was revoked. */
    authenticate(token: string): Principal {
      let claims: Claims
      try {
        claims = verify(token) as Claims
      } catch {
        throw invalidToken('is not valid')
      }
      if (claims.exp * 1000 <= clock.now()) throw invalidToken('has expired')
      const principal = registry.principalFor(claims.sub, claims.key)
      if (!principal) throw invalidToken('was minted with a key that is no longer valid')
      const grant: BrowserGrant = {
        jti: claims.jti,
        origin: claims.origin,
        maxCreates: claims.max_creates,
        expiresAt: claims.exp,
      }
      return { ...principal, grant }
    },
  }
}

export type BrowserTokens = ReturnType<typeof browserTokens>
