import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseTenantsFile } from '../src/config/tenants-file.js'
import { TenantRegistry } from '../src/tenants/registry.js'
import { REPO_ROOT } from './helpers/process.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs the keygen command as `npm run keygen` does. Its output is meant for an operator's terminal,
 * not a log, so it stays out of capturedLogLines.
 */
function keygen(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/keygen.ts', ...args],
      { cwd: REPO_ROOT, timeout: 15_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The key and the `keys` entry from keygen's output. */
function parse(stdout: string): { key: string; entry: { id: string; sha256: string } } {
  const key = /^ {2}(og_\S+)$/m.exec(stdout)?.[1]
  const entry = /^ {2}(\{.*\})$/m.exec(stdout)?.[1]
  if (key === undefined || entry === undefined) throw new Error(`no key or entry in:\n${stdout}`)
  return { key, entry: JSON.parse(entry) }
}

describe('npm run keygen', () => {
  it('prints a key of 256 random bits and the entry holding its SHA-256', async () => {
    const run = await keygen('--tenant', 'marketing')
    expect(run.code).toBe(0)
    const { key, entry } = parse(run.stdout)
    expect(key).toMatch(/^og_[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32)
    expect(entry.sha256).toBe(createHash('sha256').update(key).digest('hex'))
    expect(entry.id).toMatch(/^marketing-\d{4}-\d{2}-[A-Za-z0-9_-]{6}$/)
  })

  it('prints an entry the tenants file accepts and the gateway authenticates the key with', async () => {
    const longTenant = 't'.repeat(64)
    const run = await keygen('--tenant', longTenant)
    const { key, entry } = parse(run.stdout)
    const file = parseTenantsFile(JSON.stringify({ tenants: [{ id: longTenant, keys: [entry] }] }), 'test')
    expect(new TenantRegistry(file).authenticate(key)).toMatchObject({ keyId: entry.id })
  })

  it('uses the key id given with --id', async () => {
    const run = await keygen('--tenant', 'marketing', '--id', 'mk-2026-11')
    expect(parse(run.stdout).entry.id).toBe('mk-2026-11')
  })

  it('prints a different key on every run', async () => {
    const [first, second] = await Promise.all([
      keygen('--tenant', 'marketing'),
      keygen('--tenant', 'marketing'),
    ])
    const a = parse(first.stdout)
    const b = parse(second.stdout)
    expect(a.key).not.toBe(b.key)
    expect(a.entry.sha256).not.toBe(b.entry.sha256)
  })

  const refused: { name: string; args: string[] }[] = [
    { name: 'without --tenant', args: [] },
    { name: 'with --tenant and no value', args: ['--tenant'] },
    { name: 'with a tenant id the tenants file would refuse', args: ['--tenant', 'market ing!'] },
    { name: 'with a key id the tenants file would refuse', args: ['--tenant', 'marketing', '--id', 'a/b'] },
    { name: 'with an unknown option', args: ['--tenant', 'marketing', '--bogus'] },
  ]
  for (const { name, args } of refused) {
    it(`exits 1 with the usage line and no key ${name}`, async () => {
      const run = await keygen(...args)
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(/^usage: npm run keygen -- --tenant <tenant-id>/)
      expect(run.stderr).not.toContain('    at ')
    })
  }
})
