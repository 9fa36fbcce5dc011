import { Type } from '@sinclair/typebox'

/** Names the upstream accepts; the first three are one model (contract §5). */
export const MODEL_NAMES = ['Gemini-Omini', 'Omni-Flash-Ext', 'gemini-omni', 'omni-10s'] as const
export type ModelName = (typeof MODEL_NAMES)[number]

export const CANONICAL_MODELS = ['Gemini-Omini', 'omni-10s'] as const
export type CanonicalModel = (typeof CANONICAL_MODELS)[number]

export function canonicalModel(name: ModelName): CanonicalModel {
  return name === 'omni-10s' ? 'omni-10s' : 'Gemini-Omini'
}

export const ModelName = Type.Union(
  MODEL_NAMES.map((m) => Type.Literal(m)),
  {
    description: 'Gemini-Omini, Omni-Flash-Ext and gemini-omni are one model (sent upstream as Gemini-Omini)',
  },
)
export const CanonicalModelName = Type.Union(CANONICAL_MODELS.map((m) => Type.Literal(m)))
