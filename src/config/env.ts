import { ConfigError } from './config-error.js'

export interface Config {
  port: number
  host: string
  upstreamBaseUrl: string
  upstreamApiKey: string
  tenantsFile: string
  dataDir: string
  redisUrl: string | undefined
  redisKeyPrefix: string
  adminToken: string | undefined
  logLevel: string
  upstreamTimeoutMs: number
  upstreamConnections: number
  upstreamConnectTimeoutMs: number
  upstreamKeepAliveMs: number
  upstreamQueryRetries: number
  upstreamCircuitResetMs: number
  maxPromptChars: number
  bodyLimitBytes: number
  queryFreshnessMs: number
  taskMaxAgeMs: number
  metricsPort: number | undefined
  browserTokenSecret: string | undefined
  shutdownGraceMs: number
  eventsPollMs: number
  eventsMaxLifetimeMs: number
  /** How often unfinished tasks are asked about without a caller; 0 turns the refresher off. */
  refreshIntervalMs: number
  /** Most tasks the refresher asks about per interval. */
  refreshBatch: number
  webhookPollMs: number
  webhookTimeoutMs: number
  /** Retries of a webhook stop this long after its first attempt. */
  webhookMaxAgeMs: number
}

type Env = Record<string, string | undefined>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === '' ? undefined : value
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`)
  }
  return value
}

function optionalPort(env: Env, name: string): number | undefined {
  return read(env, name) === undefined ? undefined : integer(env, name, 0, 1, 65535)
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const raw = read(env, name) ?? fallback
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL (got "${raw}")`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https (got "${url.protocol}")`)
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${name} must not carry credentials, a query or a fragment`)
  }
  return url.toString().replace(/\/+$/, '')
}

function secret(env: Env, name: string, minLength: number): string | undefined {
  const value = read(env, name)
  if (value !== undefined && value.length < minLength) {
    throw new ConfigError(`${name} must be at least ${minLength} characters long`)
  }
  return value
}

function redisKeyPrefix(env: Env): string {
  const prefix = read(env, 'REDIS_KEY_PREFIX') ?? 'og:'
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(prefix)) {
    throw new ConfigError(`REDIS_KEY_PREFIX must be 1-64 characters of A-Z a-z 0-9 : . _ - (got "${prefix}")`)
  }
  return prefix
}

/** Reads and checks every setting of the contract (§2); throws ConfigError naming the variable at fault. */
export function loadConfig(env: Env): Config {
  const upstreamApiKey = read(env, 'UPSTREAM_API_KEY')
  if (upstreamApiKey === undefined) {
    throw new ConfigError('UPSTREAM_API_KEY is required: the upstream Bearer token the gateway sends')
  }
  const logLevel = read(env, 'LOG_LEVEL') ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`)
  }
  const redisUrl = read(env, 'REDIS_URL')
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL must start with redis:// or rediss://')
  }
  const port = integer(env, 'PORT', 8080, 0, 65535)
  const metricsPort = optionalPort(env, 'METRICS_PORT')
  if (metricsPort !== undefined && metricsPort === port) {
    throw new ConfigError('METRICS_PORT must differ from PORT')
  }
  return {
    port,
    host: read(env, 'HOST') ?? '0.0.0.0',
    upstreamBaseUrl: httpUrl(env, 'UPSTREAM_BASE_URL', 'https://www.jimmyai.cn/api/open-api'),
    upstreamApiKey,
    tenantsFile: read(env, 'TENANTS_FILE') ?? './config/tenants.json',
    dataDir: read(env, 'DATA_DIR') ?? './data',
    redisUrl,
    redisKeyPrefix: redisKeyPrefix(env),
    adminToken: secret(env, 'ADMIN_TOKEN', 16),
    logLevel,
    upstreamTimeoutMs: integer(env, 'UPSTREAM_TIMEOUT_MS', 30_000, 100, 600_000),
    upstreamConnections: integer(env, 'UPSTREAM_CONNECTIONS', 64, 1, 4096),
    upstreamConnectTimeoutMs: integer(env, 'UPSTREAM_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    upstreamKeepAliveMs: integer(env, 'UPSTREAM_KEEPALIVE_MS', 30_000, 1000, 600_000),
    upstreamQueryRetries: integer(env, 'UPSTREAM_QUERY_RETRIES', 2, 0, 10),
    upstreamCircuitResetMs: integer(env, 'UPSTREAM_CIRCUIT_RESET_MS', 10_000, 100, 600_000),
    maxPromptChars: integer(env, 'MAX_PROMPT_CHARS', 8000, 1, 1_000_000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    queryFreshnessMs: integer(env, 'QUERY_FRESHNESS_MS', 1000, 0, 3_600_000),
    taskMaxAgeMs: integer(env, 'TASK_MAX_AGE_MS', 7_200_000, 1000, 30 * 86_400_000),
    metricsPort,
    browserTokenSecret: secret(env, 'BROWSER_TOKEN_SECRET', 32),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    eventsPollMs: integer(env, 'EVENTS_POLL_MS', 2000, 10, 60_000),
    eventsMaxLifetimeMs: integer(env, 'EVENTS_MAX_LIFETIME_MS', 900_000, 1000, 86_400_000),
    refreshIntervalMs: integer(env, 'REFRESH_INTERVAL_MS', 15_000, 0, 3_600_000),
    refreshBatch: integer(env, 'REFRESH_BATCH', 100, 1, 10_000),
    webhookPollMs: integer(env, 'WEBHOOK_POLL_MS', 1000, 10, 60_000),
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    webhookMaxAgeMs: integer(env, 'WEBHOOK_MAX_AGE_MS', 86_400_000, 1000, 7 * 86_400_000),
  }
}
