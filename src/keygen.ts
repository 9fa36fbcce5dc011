import { parseArgs } from 'node:util'
import { generateKey, hashKey } from './tenants/keys.js'

const USAGE = 'usage: npm run keygen -- --tenant <tenant-id> [--id <key-id>]'
/** The tenants file's pattern for tenant and key ids. */
const ID = /^[A-Za-z0-9._-]{1,64}$/

function refuse(problem: string): never {
  process.stderr.write(`${USAGE}\n${problem}\n`)
  process.exit(1)
}

/** `npm run keygen -- --tenant marketing [--id mk-2026-11]`: a new key and the entry to paste. */
function main() {
  let values: { tenant?: string; id?: string }
  try {
    ;({ values } = parseArgs({
      options: { tenant: { type: 'string' }, id: { type: 'string' } },
      strict: true,
    }))
  } catch (err) {
    refuse((err as Error).message)
  }
  if (values.tenant === undefined) refuse('--tenant is required')
  if (!ID.test(values.tenant)) refuse('--tenant must be 1-64 characters of A-Z a-z 0-9 . _ -')
  if (values.id !== undefined && !ID.test(values.id))
    refuse('--id must be 1-64 characters of A-Z a-z 0-9 . _ -')
  const month = new Date().toISOString().slice(0, 7)
  // tenant-YYYY-MM-xxxxxx, the tenant part shortened so the id stays within 64 characters.
  const keyId = values.id ?? `${values.tenant.slice(0, 49)}-${month}-${generateKey().slice(3, 9)}`
  const key = generateKey()
  process.stdout.write(
    [
      `New key for tenant "${values.tenant}" (shown once; give it to the team, store it nowhere else):`,
      '',
      `  ${key}`,
      '',
      `Paste this entry into that tenant's "keys" in the tenants file, then send SIGHUP (or restart):`,
      '',
      `  ${JSON.stringify({ id: keyId, sha256: hashKey(key) })}`,
      '',
    ].join('\n'),
  )
}

main()
