import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../src/observability/logger.js'
import { lazyRequestLogger } from '../src/observability/request-logger.js'

function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { logger: createLogger(level, sink), lines }
}

describe('the lazy request logger', () => {
  it('writes with the request id bound, and children keep it', async () => {
    const { logger, lines } = capture('info')
    const log = lazyRequestLogger(logger, { reqId: 'r-1' }, {})
    log.warn({ taskId: 't1' }, 'slow')
    log.child({ part: 'webhooks' }).info('sent')
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines).toMatchObject([
      { reqId: 'r-1', taskId: 't1', msg: 'slow', level: 40 },
      { reqId: 'r-1', part: 'webhooks', msg: 'sent', level: 30 },
    ])
  })

  it('makes no child and writes nothing below the level in force', () => {
    const { logger, lines } = capture('warn')
    let children = 0
    const counting = Object.assign(Object.create(logger), {
      child: (...args: Parameters<typeof logger.child>) => {
        children++
        return logger.child(...args)
      },
    })
    const log = lazyRequestLogger(counting, { reqId: 'r-2' }, {})
    log.info({ a: 1 }, 'quiet')
    log.debug('quieter')
    expect(children).toBe(0)
    expect(lines).toEqual([])
    expect(log.level).toBe('warn')
  })

  it('redacts secrets like the base logger', async () => {
    const { logger, lines } = capture('info')
    lazyRequestLogger(logger, { reqId: 'r-3' }, {}).error(
      { headers: { authorization: 'Bearer og_secret' } },
      'x',
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(JSON.stringify(lines)).not.toContain('og_secret')
  })
})
