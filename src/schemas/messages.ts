import type { TSchema } from '@sinclair/typebox'
import {
  DefaultErrorFunction,
  type ErrorFunctionParameter,
  SetErrorFunction,
  ValueErrorType,
} from '@sinclair/typebox/errors'

const literalList = (schema: TSchema): string | undefined => {
  const options = schema.anyOf as TSchema[] | undefined
  if (!options?.every((s) => 'const' in s)) return undefined
  return options.map((s) => String(s.const)).join(', ')
}

/** Messages that read well after a field name: "duration must be one of 4, 6, 8, 10". */
function friendlyMessage(error: ErrorFunctionParameter): string {
  const { schema } = error
  switch (error.errorType) {
    case ValueErrorType.Union: {
      const list = literalList(schema)
      return list ? `must be one of ${list}` : DefaultErrorFunction(error)
    }
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a known field'
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required'
    case ValueErrorType.String:
      return 'must be a string'
    case ValueErrorType.Integer:
      return 'must be a whole number'
    case ValueErrorType.Number:
      return 'must be a number'
    case ValueErrorType.Boolean:
      return 'must be true or false'
    case ValueErrorType.Array:
      return 'must be an array'
    case ValueErrorType.Object:
      return 'must be a JSON object'
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`
    case ValueErrorType.StringMaxLength:
      return `must be at most ${schema.maxLength} characters`
    case ValueErrorType.ArrayMaxItems:
      return `must hold at most ${schema.maxItems} entries`
    case ValueErrorType.ArrayMinItems:
      return `must hold at least ${schema.minItems} entries`
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${schema.minimum}`
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${schema.maximum}`
    case ValueErrorType.StringPattern:
      return typeof schema.description === 'string'
        ? `must be ${schema.description}`
        : `must match ${schema.pattern}`
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(schema.const)}`
    default:
      return DefaultErrorFunction(error)
  }
}

SetErrorFunction(friendlyMessage)
