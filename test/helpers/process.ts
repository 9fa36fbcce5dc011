import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { capturedLogLines } from './secrets.js'

/** The repository root: where `node --import tsx src/server.ts` runs from. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ServerProcess {
  child: ChildProcess
  /** Every line the process wrote to stdout (pino's JSON log lines), in order. */
  stdout: string[]
  /** Every line the process wrote to stderr. */
  stderr: string[]
  /** Resolves once the process has exited and both of its streams are drained. */
  exited: Promise<Exit>
  /** Set once the process has exited. */
  exit: Exit | undefined
  /** Origin the server listens on, e.g. http://127.0.0.1:41234; set by waitUntilListening. */
  url: string
  port: number
  /** Resolves with the first stdout line (already written or still to come) that `match` accepts. */
  waitForLine(match: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>
  /** Resolves once the server logged its listen address and answers GET /healthz with 200. */
  waitUntilListening(timeoutMs?: number): Promise<ServerProcess>
  signal(signal: NodeJS.Signals): void
  /** The exit, or a rejection when the process is still running after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Exit>
  /** SIGKILL unless it already exited; resolves once it is gone. */
  kill(): Promise<void>
}

export interface SpawnOptions {
  /** What to run with node; default the TypeScript entry point through tsx. */
  args?: string[]
  cwd?: string
}

const running = new Set<ServerProcess>()

/** A JSON log line's `msg`, or undefined for a line that is not a pino record. */
export function logMessage(line: string): string | undefined {
  try {
    const record = JSON.parse(line) as { msg?: unknown }
    return typeof record.msg === 'string' ? record.msg : undefined
  } catch {
    return undefined
  }
}

/**
 * Starts the real server as a child process with exactly `env` (plus PATH and HOME): nothing leaks in
 * from the shell running the tests. Every line it prints goes into capturedLogLines for the secret check.
 */
export function spawnServer(env: Record<string, string>, options: SpawnOptions = {}): ServerProcess {
  const child = spawn(process.execPath, options.args ?? ['--import', 'tsx', 'src/server.ts'], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  const waiters = new Set<() => void>()
  const collect = (stream: NodeJS.ReadableStream, into: string[]) => {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
    lines.on('line', (line) => {
      into.push(line)
      capturedLogLines.push(line)
      for (const wake of waiters) wake()
    })
    return new Promise<void>((resolve) => lines.once('close', resolve))
  }
  const drained = Promise.all([collect(child.stdout, stdout), collect(child.stderr, stderr)])
  const closed = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const exited = Promise.all([closed, drained]).then(([exit]) => {
    server.exit = exit
    running.delete(server)
    for (const wake of waiters) wake()
    return exit
  })

  const describe = () =>
    `\n--- stdout ---\n${stdout.slice(-20).join('\n')}\n--- stderr ---\n${stderr.slice(-20).join('\n')}`

  const server: ServerProcess = {
    child,
    stdout,
    stderr,
    exited,
    exit: undefined,
    url: '',
    port: 0,
    waitForLine(match, what, timeoutMs = 10_000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = stdout.find(match)
          if (found !== undefined) finish(() => resolve(found))
          else if (server.exit)
            finish(() =>
              reject(new Error(`exited (${JSON.stringify(server.exit)}) before ${what}${describe()}`)),
            )
        }
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms${describe()}`))),
          timeoutMs,
        )
        const finish = (settle: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          settle()
        }
        waiters.add(check)
        check()
      })
    },
    async waitUntilListening(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs
      const line = await server.waitForLine(
        (l) => logMessage(l)?.startsWith('Server listening at ') === true,
        'listen address in the log',
        timeoutMs,
      )
      const address = new URL(logMessage(line)?.slice('Server listening at '.length) ?? '')
      server.port = Number(address.port)
      server.url = `http://127.0.0.1:${server.port}`
      for (;;) {
        const status = await fetch(`${server.url}/healthz`).then(
          (res) => res.status,
          () => 0,
        )
        if (status === 200) return server
        if (server.exit || Date.now() > deadline) {
          throw new Error(`GET /healthz never answered 200 (last: ${status})${describe()}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    signal(signal) {
      child.kill(signal)
    },
    waitForExit(timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`still running after ${timeoutMs} ms${describe()}`)),
          timeoutMs,
        )
      })
      return Promise.race([exited, timeout]).finally(() => clearTimeout(timer))
    },
    async kill() {
      if (!server.exit) child.kill('SIGKILL')
      await exited
    },
  }
  running.add(server)
  return server
}

/** Spawns the server and waits until it serves /healthz. */
export async function startServer(env: Record<string, string>, options: SpawnOptions = {}) {
  const server = spawnServer(env, options)
  try {
    return await server.waitUntilListening()
  } catch (err) {
    await server.kill()
    throw err
  }
}

/** For afterEach: no child outlives its test. */
export async function killAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.kill()))
}

/** True when a TCP connection to the port is accepted (and closed again at once). */
export function acceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Polls `condition` every 20 ms until it holds; rejects with `what` after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
