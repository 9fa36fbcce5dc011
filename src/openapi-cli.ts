import { writeFile } from 'node:fs/promises'
import { buildOpenApiDocument } from './openapi.js'

/** `npm run openapi`: writes openapi/openapi.json from the routes' own schemas. */
const path = new URL('../openapi/openapi.json', import.meta.url)
await writeFile(path, await buildOpenApiDocument())
process.stdout.write(`wrote ${path.pathname}\n`)
