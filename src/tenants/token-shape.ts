/** What can be known of a browser token without loading the JWT library (see browser-tokens.ts). */
export const DEFAULT_TTL_S = 900
export const MAX_TTL_S = 3600

/** A JWT has three base64url parts; a tenant key never contains a dot. */
export const looksLikeBrowserToken = (credential: string) => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(credential)
