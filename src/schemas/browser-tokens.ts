import { Type } from '@sinclair/typebox'
import { DEFAULT_TTL_S, MAX_TTL_S } from '../tenants/token-shape.js'
import { Envelope } from './envelope.js'

export const MintTokenBody = Type.Object(
  {
    ttl_seconds: Type.Optional(
      Type.Integer({
        minimum: 30,
        maximum: MAX_TTL_S,
        default: DEFAULT_TTL_S,
        description: 'lifetime, at most 1 h',
      }),
    ),
    origin: Type.Optional(
      Type.String({
        pattern: '^https?://[^/*]+$',
        description: "the only origin the token works from; must be one of the tenant's cors_origins",
      }),
    ),
    max_creates: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'creates the token allows in all' }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ ttl_seconds: 900, origin: 'https://video-app.example.com', max_creates: 3 }],
  },
)

export const MintedToken = Envelope(
  Type.Object({
    token: Type.String({ description: 'send as Authorization: Bearer <token> from the page' }),
    expires_at: Type.Integer({ description: 'epoch seconds' }),
    tenant: Type.String(),
    origin: Type.Union([Type.String(), Type.Null()]),
    max_creates: Type.Union([Type.Integer(), Type.Null()]),
  }),
)
