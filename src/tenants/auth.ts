import type { FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.js'
import type { BrowserTokens } from './browser-tokens.js'
import type { Principal, TenantRegistry } from './registry.js'
import { looksLikeBrowserToken } from './token-shape.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

export type Authenticate = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void

export interface TenantAuth {
  /** Tenant keys only: minting tokens, usage. */
  keys: Authenticate
  /** Tenant keys or browser tokens: create, query, list. */
  keysOrTokens: Authenticate
  /** As keysOrTokens, and a browser token may come as ?access_token= (EventSource cannot send headers). */
  keysOrTokensInQuery: Authenticate
}

const unauthorized = () =>
  new GatewayError(401, '40101', 'a valid tenant key is required as Authorization: Bearer <key>', [], {
    'www-authenticate': 'Bearer',
  })

function bearerOf(request: FastifyRequest, tokenInQuery: boolean): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return /^Bearer +(\S+)\s*$/i.exec(header)?.[1]
  const fromQuery = (request.query as { access_token?: unknown } | undefined)?.access_token
  return tokenInQuery && typeof fromQuery === 'string' && looksLikeBrowserToken(fromQuery)
    ? fromQuery
    : undefined
}

function isSameOrigin(request: FastifyRequest, origin: string): boolean {
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

/** A page may call only from an origin its tenant lists (contract §4); servers send no Origin at all. */
function checkOrigin(request: FastifyRequest, principal: Principal): void {
  const origin = request.headers.origin
  const bound = principal.grant?.origin
  if (bound !== undefined && origin !== bound) {
    throw new GatewayError(403, '40305', `this browser token may be used only from ${bound}`)
  }
  if (origin === undefined || isSameOrigin(request, origin)) return
  if (!principal.tenant.cors_origins?.includes(origin)) {
    throw new GatewayError(
      403,
      '40302',
      `origin ${origin} is not allowed for tenant ${principal.tenant.id}`,
      [{ field: 'header:Origin', message: 'is not in the tenant’s cors_origins' }],
    )
  }
}

/**
 * onRequest hooks: the first check of every tenant route, before the body is even read. Callback
 * hooks, since nothing here waits: an async hook would cost a promise on every request.
 */
export function tenantAuth(registry: TenantRegistry, tokens: BrowserTokens | undefined): TenantAuth {
  const make = (acceptTokens: boolean, tokenInQuery: boolean): Authenticate => {
    const identify = (request: FastifyRequest) => {
      const credential = bearerOf(request, tokenInQuery)
      if (credential === undefined) throw unauthorized()
      let principal: Principal | undefined
      if (looksLikeBrowserToken(credential)) {
        if (!tokens) throw unauthorized()
        principal = tokens.authenticate(credential)
        if (!acceptTokens) {
          throw new GatewayError(
            403,
            '40303',
            'a browser token cannot be used here; call this route with the tenant key',
          )
        }
      } else {
        principal = registry.authenticate(credential, request.raw.socket)
      }
      if (!principal) throw unauthorized()
      request.principal = principal
      checkOrigin(request, principal)
    }
    return function authenticate(request, _reply, done) {
      try {
        identify(request)
      } catch (err) {
        return done(err as Error)
      }
      done()
    }
  }
  return { keys: make(false, false), keysOrTokens: make(true, false), keysOrTokensInQuery: make(true, true) }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized()
  return request.principal
}
