/**
 * Every secret a test hands the gateway, and every log line the gateway wrote, for the check in
 * test/setup/no-secrets-in-logs.ts that runs after each test file.
 */
export const secretsInPlay = new Set<string>()
export const capturedLogLines: string[] = []

export function rememberSecret(secret: string): string {
  secretsInPlay.add(secret)
  return secret
}
