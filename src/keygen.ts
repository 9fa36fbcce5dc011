import { parseArgs } from 'node:util'
import { generateKey, hashKey } from './tenants/keys.js'

/** `npm run keygen -- --tenant marketing [--id mk-2026-11]`: a new key and the entry to paste. */
function main() {
  const { values } = parseArgs({
    options: { tenant: { type: 'string' }, id: { type: 'string' } },
    strict: true,
  })
  if (!values.tenant || !/^[A-Za-z0-9._-]{1,64}$/.test(values.tenant)) {
    process.stderr.write('usage: npm run keygen -- --tenant <tenant-id> [--id <key-id>]\n')
    process.exit(1)
  }
  const month = new Date().toISOString().slice(0, 7)
  const keyId = values.id ?? `${values.tenant}-${month}-${generateKey().slice(3, 9)}`
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
