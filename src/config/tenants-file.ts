import { readFile } from 'node:fs/promises'
import { type Static, Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import '../schemas/messages.js'
import { fieldName } from '../errors.js'
import { CanonicalModelName } from '../schemas/models.js'
import { ConfigError } from './config-error.js'

const PositiveLimit = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }))

export const TenantLimits = Type.Object(
  {
    create_per_minute: PositiveLimit('creates per minute'),
    query_per_minute: PositiveLimit('queries and listings per minute'),
    max_concurrent_tasks: PositiveLimit('tasks not yet completed or failed'),
    daily_video_seconds: PositiveLimit('billable video seconds per UTC day'),
  },
  { additionalProperties: false },
)
export type TenantLimits = Static<typeof TenantLimits>

const KeyEntry = Type.Object(
  {
    id: Type.String({
      pattern: '^[A-Za-z0-9._-]{1,64}$',
      description: '1-64 characters of A-Z a-z 0-9 . _ -',
    }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: '64 lowercase hex characters' }),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

const Tenant = Type.Object(
  {
    id: Type.String({
      pattern: '^[A-Za-z0-9._-]{1,64}$',
      description: '1-64 characters of A-Z a-z 0-9 . _ -',
    }),
    keys: Type.Array(KeyEntry),
    limits: Type.Optional(TenantLimits),
    models: Type.Optional(Type.Array(CanonicalModelName)),
    cors_origins: Type.Optional(
      Type.Array(
        Type.String({ pattern: '^https?://[^/*]+$', description: 'an origin like https://app.example.com' }),
      ),
    ),
    webhook_url: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'an absolute http or https URL' }),
    ),
    webhook_secrets: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$',
          description: 'a Standard Webhooks secret: whsec_ and the base64 of 24-64 random bytes',
        }),
        { minItems: 1 },
      ),
    ),
  },
  { additionalProperties: false },
)
export type TenantEntry = Static<typeof Tenant>

export const TenantsFile = Type.Object({ tenants: Type.Array(Tenant) }, { additionalProperties: false })
export type TenantsFile = Static<typeof TenantsFile>

const checkTenantsFile = TypeCompiler.Compile(TenantsFile)

function findDuplicate(values: string[]): string | undefined {
  const seen = new Set<string>()
  for (const v of values) {
    if (seen.has(v)) return v
    seen.add(v)
  }
  return undefined
}

/** Standard Webhooks secrets are 24-64 random bytes. */
export const WEBHOOK_SECRET_BYTES = { min: 24, max: 64 }

/** The fault in a tenant's webhook settings, if any; never quotes a secret. */
function webhookProblem(tenant: TenantEntry): string | undefined {
  const { webhook_url: url, webhook_secrets: secrets } = tenant
  if (url === undefined && secrets === undefined) return undefined
  if (url === undefined) return 'has webhook_secrets but no webhook_url'
  if (secrets === undefined) return 'has webhook_url but no webhook_secrets to sign with'
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'webhook_url must be an absolute http or https URL'
  }
  if (parsed.username || parsed.password || parsed.hash) {
    return 'webhook_url must not carry credentials or a fragment'
  }
  for (const [i, secret] of secrets.entries()) {
    const base64 = secret.slice('whsec_'.length)
    const bytes = Buffer.from(base64, 'base64')
    if (bytes.toString('base64') !== base64) return `webhook_secrets/${i} is not valid base64 after whsec_`
    if (bytes.length < WEBHOOK_SECRET_BYTES.min || bytes.length > WEBHOOK_SECRET_BYTES.max) {
      return `webhook_secrets/${i} must encode ${WEBHOOK_SECRET_BYTES.min}-${WEBHOOK_SECRET_BYTES.max} bytes (it encodes ${bytes.length})`
    }
  }
  return undefined
}

/** Parses and checks a tenants file's text; throws ConfigError naming the entry at fault. */
export function parseTenantsFile(text: string, path: string): TenantsFile {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    // The parser quotes the text around the fault, which could be a key pasted in clear: say only where.
    const position = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new ConfigError(
      `TENANTS_FILE ${path} is not valid JSON${position ? ` (at character ${position})` : ''}`,
    )
  }
  const first = checkTenantsFile.Errors(data).First()
  if (first) throw new ConfigError(`TENANTS_FILE ${path}: ${fieldName(first.path)} ${first.message}`)
  const file = data as TenantsFile
  const problems: [string | undefined, string][] = [
    [findDuplicate(file.tenants.map((t) => t.id)), 'tenant id is used twice'],
    [findDuplicate(file.tenants.flatMap((t) => t.keys.map((k) => k.id))), 'key id is used twice'],
  ]
  for (const [value, problem] of problems) {
    if (value !== undefined) throw new ConfigError(`TENANTS_FILE ${path}: ${problem}: "${value}"`)
  }
  for (const tenant of file.tenants) {
    const problem = webhookProblem(tenant)
    if (problem) throw new ConfigError(`TENANTS_FILE ${path}: tenant "${tenant.id}" ${problem}`)
  }
  const hashes = file.tenants.flatMap((t) => t.keys.map((k) => k.sha256))
  const repeated = findDuplicate(hashes)
  if (repeated !== undefined) {
    const ids = file.tenants.flatMap((t) => t.keys.filter((k) => k.sha256 === repeated).map((k) => k.id))
    throw new ConfigError(`TENANTS_FILE ${path}: keys ${ids.join(' and ')} have the same sha256`)
  }
  return file
}

export async function readTenantsFile(path: string): Promise<TenantsFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(
      `TENANTS_FILE ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    )
  }
  return parseTenantsFile(text, path)
}
