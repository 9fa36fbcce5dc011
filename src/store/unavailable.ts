import { GatewayError } from '../errors.js'

/** Limits are never skipped because their store is down: the request fails closed with 503. */
export const storeUnavailable = (cause: unknown) =>
  new GatewayError(
    503,
    '50303',
    'the gateway store is not reachable; retry shortly',
    [],
    { 'retry-after': '5' },
    { cause },
  )
