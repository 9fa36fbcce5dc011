import type { TenantEntry, TenantsFile } from '../config/tenants-file.js'
import type { CanonicalModel } from '../schemas/models.js'
import type { BrowserGrant } from './browser-tokens.js'
import { hashKey } from './keys.js'

export interface Principal {
  tenant: TenantEntry
  keyId: string
  /** Set when the caller is a web page holding a browser token rather than the key itself. */
  grant?: BrowserGrant
}

interface KeyRecord {
  principal: Principal
  disabled: boolean
}

/** Equal strings, in a time that depends only on their length (keys all have about the same length). */
function sameKey(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** A key is a bearer token: printable ASCII without spaces, of a sane length. */
const PLAUSIBLE_KEY = /^[\x21-\x7e]{16,256}$/

/** The tenants in force; `replace` swaps them atomically on reload. */
export class TenantRegistry {
  private byHash = new Map<string, KeyRecord>()
  private byId = new Map<string, TenantEntry>()
  private origins = new Set<string>()
  /**
   * Per connection, the last key that authenticated on it. A client on a keep-alive connection sends
   * the same key with every request, and hashing it each time was ~7 % of the CPU of a cached poll.
   * Keyed weakly by the connection, so an entry goes with it; a new map on every reload, so a revoked
   * key fails on its very next request.
   */
  private lastKeyOf = new WeakMap<object, { key: string; principal: Principal }>()

  constructor(file: TenantsFile) {
    this.replace(file)
  }

  replace(file: TenantsFile): void {
    const byHash = new Map<string, KeyRecord>()
    const byId = new Map<string, TenantEntry>()
    for (const tenant of file.tenants) {
      byId.set(tenant.id, tenant)
      for (const key of tenant.keys) {
        byHash.set(key.sha256, {
          principal: { tenant, keyId: key.id },
          disabled: key.disabled === true,
        })
      }
    }
    this.byHash = byHash
    this.byId = byId
    this.origins = new Set(file.tenants.flatMap((t) => t.cors_origins ?? []))
    this.lastKeyOf = new WeakMap()
  }

  /** Whether some tenant lists the origin: enough to answer a preflight, not to serve the request. */
  listsOrigin(origin: string): boolean {
    return this.origins.has(origin)
  }

  /**
   * The principal a key belongs to, or undefined for an unknown, malformed or disabled key.
   * `connection` (the request's socket) lets a repeated key skip the hash.
   */
  authenticate(key: string, connection?: object): Principal | undefined {
    const last = connection && this.lastKeyOf.get(connection)
    if (last && sameKey(last.key, key)) return last.principal
    if (!PLAUSIBLE_KEY.test(key)) return undefined
    // Looked up by the key's SHA-256 digest: a caller cannot steer a digest byte by byte, so the
    // map lookup's timing says nothing about how close a guess came to a stored key.
    const record = this.byHash.get(hashKey(key))
    if (record === undefined || record.disabled) return undefined
    if (connection) this.lastKeyOf.set(connection, { key, principal: record.principal })
    return record.principal
  }

  /** The principal of a key that is still listed and enabled, for credentials minted with it. */
  principalFor(tenantId: string, keyId: string): Principal | undefined {
    const tenant = this.byId.get(tenantId)
    const key = tenant?.keys.find((k) => k.id === keyId)
    return tenant && key && key.disabled !== true ? { tenant, keyId } : undefined
  }

  tenant(id: string): TenantEntry | undefined {
    return this.byId.get(id)
  }

  tenants(): TenantEntry[] {
    return [...this.byId.values()]
  }
}

export function allowsModel(tenant: TenantEntry, model: CanonicalModel): boolean {
  return tenant.models === undefined || tenant.models.includes(model)
}
