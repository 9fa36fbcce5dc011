import { type DestinationStream, type Logger, pino } from 'pino'

/** Paths where a secret could end up if someone logged the wrong object; pino blanks them. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  'authorization',
  'upstreamApiKey',
  '*.upstreamApiKey',
  'apiKey',
  '*.apiKey',
  'adminToken',
  '*.adminToken',
  'browserTokenSecret',
  '*.browserTokenSecret',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination)
}
