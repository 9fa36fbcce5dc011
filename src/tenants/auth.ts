import type { FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.js'
import type { Principal, TenantRegistry } from './registry.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

const unauthorized = () =>
  new GatewayError(401, '40101', 'a valid tenant key is required as Authorization: Bearer <key>', [], {
    'www-authenticate': 'Bearer',
  })

/** onRequest hook: the first check of every tenant route, before the body is even read. */
export function tenantAuth(registry: TenantRegistry) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply) {
    const header = request.headers.authorization
    const match = header === undefined ? null : /^Bearer +(\S+)\s*$/i.exec(header)
    const principal = match?.[1] === undefined ? undefined : registry.authenticate(match[1])
    if (!principal) throw unauthorized()
    request.principal = principal
    request.log = request.log.child({ tenant: principal.tenant.id, keyId: principal.keyId })
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized()
  return request.principal
}
