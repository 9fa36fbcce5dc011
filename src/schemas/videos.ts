import { type Static, Type } from '@sinclair/typebox'
import { Envelope } from './envelope.js'
import { ModelName } from './models.js'

const Url = Type.String({ maxLength: 4096, description: 'absolute http or https URL' })
/**
 * No item cap of its own: §5's count rules bound every list the gateway uses, and an `images` list
 * it does not use (image_urls given) is bounded only by BODY_LIMIT_BYTES, as the contract says.
 */
const UrlList = (description: string) => Type.Optional(Type.Array(Url, { description }))

export const CreateVideoBody = Type.Object(
  {
    model: ModelName,
    prompt: Type.String({
      minLength: 1,
      description: 'text prompt; not blank, at most MAX_PROMPT_CHARS characters',
    }),
    duration: Type.Optional(
      Type.Union(
        [4, 6, 8, 10].map((n) => Type.Literal(n)),
        {
          description: 'seconds, default 6; not with a non-empty video_urls; ignored by omni-10s',
        },
      ),
    ),
    resolution: Type.Optional(
      Type.Union(
        ['720p', '1080p', '4k'].map((r) => Type.Literal(r)),
        { description: 'default 720p; ignored by omni-10s' },
      ),
    ),
    aspect_ratio: Type.Optional(
      Type.String({
        pattern: '^$|^[1-9][0-9]*:[1-9][0-9]*$',
        description: 'empty or W:H with positive integers, e.g. 16:9; wins over orientation',
      }),
    ),
    orientation: Type.Optional(Type.Union([Type.Literal('landscape'), Type.Literal('portrait')])),
    image_urls: UrlList('reference images (omni-10s: up to 7 image or video URLs)'),
    images: UrlList('compatibility field, used only when image_urls is empty or absent'),
    generation_type: Type.Optional(
      Type.Union([Type.Literal('frame'), Type.Literal('reference')], {
        description: 'frame: exactly 1 image; reference (default): 0, 1 or 3 images',
      }),
    ),
    video_urls: UrlList('reference videos, at most 1; Gemini-Omini only'),
  },
  {
    additionalProperties: false,
    examples: [
      {
        model: 'Gemini-Omini',
        prompt: 'A cat running through a neon rainy street, cinematic low-angle tracking shot',
        duration: 6,
        resolution: '720p',
        aspect_ratio: '16:9',
        generation_type: 'reference',
        image_urls: [],
        video_urls: [],
      },
    ],
  },
)
export type CreateVideoBody = Static<typeof CreateVideoBody>

export const CreatedTask = Type.Object(
  { task_id: Type.String(), status: Type.String(), model: Type.String(), created_at: Type.Integer() },
  { additionalProperties: true },
)

export const CreatedEnvelope = Envelope(CreatedTask, {
  description: "the upstream's answer, relayed unchanged",
  examples: [
    {
      code: '20000',
      msg: 'ok',
      data: { task_id: 'task_01J9', status: 'queued', model: 'Gemini-Omini', created_at: 1764253200 },
    },
  ],
})

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) =>
  Type.Optional(Type.Union([t, Type.Null()]))

export const TaskStatus = Type.Object(
  {
    task_id: Type.String(),
    status: Type.String({ description: 'queued | pending | submitted | processing | completed | failed' }),
    progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    model: Type.Optional(Type.String()),
    created_at: Type.Optional(Type.Integer()),
    completed_at: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    result: Type.Optional(
      Type.Union([
        Type.Object(
          { video_url: Nullable(Type.String()), image_url: Nullable(Type.String()) },
          { additionalProperties: true },
        ),
        Type.Null(),
      ]),
    ),
    error_message: Nullable(Type.String()),
  },
  { additionalProperties: true },
)

export const TaskEnvelope = Envelope(TaskStatus, {
  description: "the upstream's answer, relayed unchanged (or its last final answer, from the store)",
  examples: [
    {
      code: '20000',
      msg: 'ok',
      data: {
        task_id: 'task_01J9',
        status: 'completed',
        progress: 100,
        model: 'Gemini-Omini',
        created_at: 1764253200,
        completed_at: 1764253290,
        result: { video_url: 'https://cdn.example.com/task_01J9.mp4' },
        error_message: null,
      },
    },
  ],
})

export const TaskIdParams = Type.Object({
  taskId: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$', description: 'a task id returned by a create' }),
})

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
)
export type ListQuery = Static<typeof ListQuery>

export const TaskSummary = Type.Object({
  task_id: Type.String(),
  model: Type.String({ description: 'canonical model' }),
  status: Type.String({ description: 'last status the gateway saw' }),
  created_at: Type.Integer({ description: "the upstream's created_at" }),
  duration: Type.Integer({ description: 'billable seconds' }),
  resolution: Type.String(),
})
export type TaskSummary = Static<typeof TaskSummary>

export const TaskListEnvelope = Envelope(
  Type.Object({ items: Type.Array(TaskSummary), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
  { description: "the caller's tenant's tasks, newest first" },
)
