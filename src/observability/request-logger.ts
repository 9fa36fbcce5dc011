import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger that becomes a real child (with the request id bound) only when a line is
 * actually written through it. Most requests write nothing but their summary line, which the app
 * writes with the base logger, and a pino child per request is a measurable share of a cached
 * poll's cost.
 */
class LazyRequestLogger {
  private bound: FastifyBaseLogger | undefined

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private logger(): FastifyBaseLogger {
    this.bound ??= this.parent.child(this.bindings, this.options)
    return this.bound
  }

  private write(level: Level, args: unknown[]): void {
    const enabled = (this.parent as { isLevelEnabled?(level: string): boolean }).isLevelEnabled
    if (enabled && !enabled.call(this.parent, level)) return
    ;(this.logger()[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): string {
    return this.bound?.level ?? this.parent.level
  }

  set level(level: string) {
    this.logger().level = level
  }

  fatal(...args: unknown[]) {
    this.write('fatal', args)
  }
  error(...args: unknown[]) {
    this.write('error', args)
  }
  warn(...args: unknown[]) {
    this.write('warn', args)
  }
  info(...args: unknown[]) {
    this.write('info', args)
  }
  debug(...args: unknown[]) {
    this.write('debug', args)
  }
  trace(...args: unknown[]) {
    this.write('trace', args)
  }
  silent() {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options)
  }
}

/** Fastify's `childLoggerFactory`. */
export function lazyRequestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as FastifyBaseLogger
}
