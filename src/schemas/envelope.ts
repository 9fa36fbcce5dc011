import { type TSchema, Type } from '@sinclair/typebox'

export const FieldIssue = Type.Object({
  field: Type.String({ description: 'JSON pointer of the field at fault, e.g. /duration' }),
  message: Type.String(),
})

export const ErrorEnvelope = Type.Object(
  {
    code: Type.String({ pattern: '^[1-5][0-9]{4}$', description: 'first three digits are the HTTP status' }),
    msg: Type.String(),
    data: Type.Null(),
    request_id: Type.String(),
    details: Type.Array(FieldIssue),
  },
  {
    $id: 'ErrorEnvelope',
    examples: [
      {
        code: '40001',
        msg: 'duration must be one of 4, 6, 8, 10',
        data: null,
        request_id: 'req-3f1c',
        details: [{ field: '/duration', message: 'must be one of 4, 6, 8, 10' }],
      },
    ],
  },
)

/** The upstream's wrapper `{code, msg, data}`; relayed answers may carry more than declared. */
export const Envelope = <T extends TSchema>(
  data: T,
  options: { description?: string; examples?: unknown[] } = {},
) =>
  Type.Object(
    { code: Type.String({ examples: ['20000'] }), msg: Type.String({ examples: ['ok'] }), data },
    { additionalProperties: true, ...options },
  )

export const ErrorResponses = {
  400: Type.Ref('ErrorEnvelope'),
  401: Type.Ref('ErrorEnvelope'),
  429: Type.Ref('ErrorEnvelope'),
}
