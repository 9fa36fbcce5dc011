/** The upstream's own prefix: every route is served with and without it, as on the upstream. */
export const UPSTREAM_PREFIX = '/api/open-api'
