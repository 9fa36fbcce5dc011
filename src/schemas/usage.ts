import { type Static, Type } from '@sinclair/typebox'
import { TenantLimits } from '../config/tenants-file.js'
import { Envelope } from './envelope.js'

export const UsageQuery = Type.Object(
  {
    days: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 90, default: 7, description: 'UTC days back, today included' }),
    ),
  },
  { additionalProperties: false },
)

export const UsageDay = Type.Object({
  date: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  model: Type.String(),
  tasks: Type.Integer({ description: 'tasks the upstream accepted' }),
  failed: Type.Integer({ description: 'of those, tasks seen failed' }),
  video_seconds: Type.Integer({ description: 'billable seconds of the accepted tasks' }),
})

export const TodayUsage = Type.Object({
  video_seconds_used: Type.Integer({
    description: 'billable seconds counted today, creates in flight included',
  }),
  video_seconds_left: Type.Union([Type.Integer(), Type.Null()], { description: 'null when unlimited' }),
  tasks_in_flight: Type.Integer(),
})
export type TodayUsage = Static<typeof TodayUsage>

export const TenantUsage = Type.Object({
  tenant: Type.String(),
  days: Type.Array(UsageDay),
  limits: TenantLimits,
  today: TodayUsage,
})
export type TenantUsage = Static<typeof TenantUsage>

export const UsageEnvelope = Envelope(TenantUsage, {
  examples: [
    {
      code: '20000',
      msg: 'ok',
      data: {
        tenant: 'marketing',
        days: [{ date: '2026-11-27', model: 'Gemini-Omini', tasks: 3, failed: 1, video_seconds: 18 }],
        limits: { create_per_minute: 10, daily_video_seconds: 600 },
        today: { video_seconds_used: 18, video_seconds_left: 582, tasks_in_flight: 2 },
      },
    },
  ],
})
