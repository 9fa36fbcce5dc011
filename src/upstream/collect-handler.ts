import type { Dispatcher } from 'undici'

type Headers = Record<string, string | string[] | undefined>

export interface CollectedAnswer {
  statusCode: number
  /** Names in lower case; a repeated header is an array. */
  headers: Headers
  text: string
}

const EMPTY = Buffer.alloc(0)

/**
 * Sends one request and buffers its whole answer. The upstream's answers are small JSON, so this
 * skips the Readable stream and body mixin that `request()` builds for every call.
 */
export function collect(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
): Promise<CollectedAnswer> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(options, new CollectHandler(resolve, reject))
  })
}

class CollectHandler implements Dispatcher.DispatchHandler {
  private statusCode = 0
  private headers: Headers = {}
  private readonly chunks: Buffer[] = []

  constructor(
    private readonly resolve: (answer: CollectedAnswer) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  // Must exist even though empty: undici only treats a handler that has it as a controller-API
  // handler, and calls the legacy onConnect/onHeaders/... methods on any other.
  onRequestStart() {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers) {
    // Interim 1xx answers arrive here too; only the final one is the answer.
    if (statusCode < 200) return
    this.statusCode = statusCode
    this.headers = headers
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer) {
    this.chunks.push(chunk)
  }

  onResponseEnd() {
    const { chunks } = this
    const body = chunks.length > 1 ? Buffer.concat(chunks) : (chunks[0] ?? EMPTY)
    // A leading UTF-8 BOM is dropped, as undici's body.text() did before.
    const start = body.length > 2 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0
    this.resolve({ statusCode: this.statusCode, headers: this.headers, text: body.toString('utf8', start) })
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error) {
    this.reject(err)
  }
}
