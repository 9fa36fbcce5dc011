/** UTC calendar day of an epoch-ms instant, YYYY-MM-DD. */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

export const DAY_MS = 86_400_000

export function msUntilNextUtcMidnight(ms: number): number {
  return DAY_MS - (ms % DAY_MS)
}

export function daysBack(today: string, count: number): string {
  return utcDay(Date.parse(`${today}T00:00:00Z`) - (count - 1) * DAY_MS)
}
