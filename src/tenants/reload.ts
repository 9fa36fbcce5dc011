import type { FastifyBaseLogger } from 'fastify'
import { readTenantsFile } from '../config/tenants-file.js'
import type { TenantRegistry } from './registry.js'

/** Re-reads the tenants file; a broken file is refused and the configuration in force stays. */
export async function reloadTenants(
  registry: TenantRegistry,
  path: string,
  log: FastifyBaseLogger,
): Promise<boolean> {
  try {
    const file = await readTenantsFile(path)
    registry.replace(file)
    log.info({ tenants: file.tenants.length }, 'tenants file reloaded')
    return true
  } catch (err) {
    log.error(
      { reason: (err as Error).message },
      'tenants file refused; the previous configuration stays in force',
    )
    return false
  }
}
