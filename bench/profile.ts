import { readFileSync } from 'node:fs'

/** Summarises a V8 .cpuprofile (node --cpu-prof): where the busy time goes, by function and by package. */

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface Share {
  name: string
  ms: number
  /** Of the busy (non-idle) time. */
  pct: number
}

export interface ProfileSummary {
  busyMs: number
  idleMs: number
  /** Self time by package (node core, V8, GC, each npm package, the gateway's own code). */
  selfByPackage: Share[]
  /** Samples with this package anywhere on the stack (each sample counted once per package). */
  inclusiveByPackage: Share[]
  topSelf: Share[]
  /** The gateway's own functions (dist/), by time spent in them and everything they call. */
  gatewayInclusive: Share[]
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length)
  const dist = url.lastIndexOf('/dist/')
  if (dist >= 0) return url.slice(dist + 1)
  return url.replace(/^file:\/\//, '')
}

function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName === '(garbage collector)') return 'V8: garbage collector'
    if (functionName === '(program)') return 'V8: (program)'
    if (functionName === '(idle)') return '(idle)'
    if (functionName === '(root)') return '(root)'
    return 'V8 builtins / native'
  }
  if (url.startsWith('node:')) return 'node core'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/')
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url)
  }
  if (url.includes('/dist/')) return 'gateway (dist/)'
  return 'other'
}

const frameKey = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'} ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`.trim()

/**
 * `window` (µs on the monotonic clock, as process.hrtime gives it; V8 stamps samples on the same clock)
 * keeps only the samples taken while the load was measured: no start-up, no warm-up, no shutdown.
 */
export function summarizeProfile(
  path: string,
  window?: { fromUs: number; toUs: number },
  top = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  // Each sample stands for the time until the next one.
  const hits = new Map<number, number>()
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0
    if (window && (at < window.fromUs || at > window.toUs)) continue
    const id = profile.samples[i] as number
    const span = profile.timeDeltas[i + 1] ?? 0
    hits.set(id, (hits.get(id) ?? 0) + Math.max(0, span) / 1000)
  }

  const self = new Map<string, number>()
  const selfPkg = new Map<string, number>()
  const inclPkg = new Map<string, number>()
  const inclGateway = new Map<string, number>()
  let idleMs = 0
  let busyMs = 0
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms)

  for (const [id, ms] of hits) {
    const node = byId.get(id)
    if (!node) continue
    const pkg = packageOf(node.callFrame)
    if (pkg === '(idle)') {
      idleMs += ms
      continue
    }
    busyMs += ms
    add(self, frameKey(node.callFrame), ms)
    add(selfPkg, pkg, ms)
    const seenPkg = new Set<string>()
    const seenFn = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame
      if (!frame) break
      const p = packageOf(frame)
      if (p === '(root)') continue
      if (!seenPkg.has(p)) {
        seenPkg.add(p)
        add(inclPkg, p, ms)
      }
      if (p === 'gateway (dist/)') {
        const key = frameKey(frame)
        if (!seenFn.has(key)) {
          seenFn.add(key)
          add(inclGateway, key, ms)
        }
      }
    }
  }

  const shares = (map: Map<string, number>, n: number): Share[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms, pct: (100 * ms) / Math.max(1, busyMs) }))

  return {
    busyMs,
    idleMs,
    selfByPackage: shares(selfPkg, top),
    inclusiveByPackage: shares(inclPkg, top),
    topSelf: shares(self, top),
    gatewayInclusive: shares(inclGateway, top),
  }
}

const pct = (v: number) => `${v.toFixed(1)} %`

export function profileMarkdown(summary: ProfileSummary): string {
  const table = (title: string, rows: Share[]) =>
    [
      `| ${title} | share of busy time |`,
      '|---|---:|',
      ...rows.map((r) => `| \`${r.name}\` | ${pct(r.pct)} |`),
    ].join('\n')
  const total = summary.busyMs + summary.idleMs
  return [
    `Busy ${(summary.busyMs / 1000).toFixed(1)} s, idle ${(summary.idleMs / 1000).toFixed(1)} s (${pct((100 * summary.idleMs) / Math.max(1, total))} of the profile: time the event loop waited).`,
    '',
    table('self time by package', summary.selfByPackage),
    '',
    table('package anywhere on the stack (inclusive)', summary.inclusiveByPackage),
    '',
    table('top functions by self time', summary.topSelf),
    '',
    table("gateway's own functions, inclusive", summary.gatewayInclusive),
    '',
    '_Inclusive_ counts everything a frame called. Where a library continues the request inside a callback (e.g. the `origin` callback of @fastify/cors, then the hooks after it), that frame’s inclusive share holds the rest of the request too: read self time for what a function costs by itself.',
  ].join('\n')
}

// `tsx bench/profile.ts <file.cpuprofile>` prints the summary.
if (process.argv[1]?.endsWith('profile.ts') && process.argv[2]) {
  process.stdout.write(`${profileMarkdown(summarizeProfile(process.argv[2]))}\n`)
}
