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

/** A key is a bearer token: printable ASCII without spaces, of a sane length. */
const PLAUSIBLE_KEY = /^[\x21-\x7e]{16,256}$/

/** The tenants in force; `replace` swaps them atomically on reload. */
export class TenantRegistry {
  private byHash = new Map<string, KeyRecord>()
  private byId = new Map<string, TenantEntry>()
  private origins = new Set<string>()

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
  }

  /** Whether some tenant lists the origin: enough to answer a preflight, not to serve the request. */
  listsOrigin(origin: string): boolean {
    return this.origins.has(origin)
  }

  /** The principal a key belongs to, or undefined for an unknown, malformed or disabled key. */
  authenticate(key: string): Principal | undefined {
    if (!PLAUSIBLE_KEY.test(key)) return undefined
    // Looked up by the key's SHA-256 digest: a caller cannot steer a digest byte by byte, so the
    // map lookup's timing says nothing about how close a guess came to a stored key.
    const record = this.byHash.get(hashKey(key))
    return record === undefined || record.disabled ? undefined : record.principal
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
