import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ExampleServer, startExampleServer } from '../examples/browser/server.js'
import { type Simulator, startSimulator } from '../src/simulator/app.js'
import {
  bearer,
  makeTenant,
  startTestGateway,
  type TestGateway,
  UPSTREAM_TEST_TOKEN,
} from './helpers/gateway.js'
import { REPO_ROOT } from './helpers/process.js'
import { rememberSecret } from './helpers/secrets.js'

const CHROMIUM = '/usr/bin/chromium'
/** Without the background-networking flags Chromium floods a network-less machine with refused connections. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]
const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'browser')
const SECRET = rememberSecret('browser-e2e-token-secret-0123456789-abcdef')
const TASK_MS = 1500
const TOKEN_TTL_S = 600
const SETTLED = ['completed', 'failed', 'error']

const web = makeTenant('web')

/** The real browser example: its backend, its page, the gateway on a real port, Chromium. */
describe('the browser example in headless Chromium', () => {
  let upstream: Simulator
  let gw: TestGateway
  let gatewayUrl: string
  let example: ExampleServer
  let elsewhere: ExampleServer
  let context: BrowserContext
  let userDataDir: string
  /** Moves the gateway's clock (not the simulator's), to expire tokens. */
  let skewMs = 0

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium package (apt-get update && apt-get install -y chromium); .ci/run does this`,
      )
    }
    upstream = await startSimulator({ token: UPSTREAM_TEST_TOKEN, taskDurationMs: TASK_MS })
    gw = await startTestGateway({
      tenants: [web],
      upstream,
      clock: { now: () => Date.now() + skewMs },
      env: { BROWSER_TOKEN_SECRET: SECRET, EVENTS_POLL_MS: '50', QUERY_FRESHNESS_MS: '0' },
    })
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    gatewayUrl = `http://127.0.0.1:${(gw.app.server.address() as { port: number }).port}`
    example = await startExampleServer({ gatewayUrl, tenantKey: web.key, port: 0 })
    // A second copy of the page on an origin the tenant does not list. Its backend can still mint
    // (unbound tokens), so only the browser's CORS check stands between the page and the gateway.
    elsewhere = await startExampleServer({ gatewayUrl, tenantKey: web.key, port: 0, bindOrigin: false })
    // Only now are the example's origin known: list it, as a SIGHUP reload of the tenants file would.
    gw.deps.tenants.replace({ tenants: [{ ...web.entry, cors_origins: [example.url] }] })

    userDataDir = mkdtempSync(join(tmpdir(), 'omni-gw-chromium-'))
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    })
  })

  afterAll(async () => {
    await context?.close()
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true })
    await example?.close()
    await elsewhere?.close()
    await gw?.close()
    await upstream?.close()
  })

  const creates = () => upstream.calls.filter((call) => call.operation === 'create').length

  /** A fresh tab on `origin`'s page; every token its backend mints is kept out of the logs. */
  async function openPage(origin: string): Promise<Page> {
    const page = await context.newPage()
    page.on('response', (response) => {
      if (response.url() !== `${origin}/token`) return
      response.json().then(
        (grant: { token?: string }) => grant.token && rememberSecret(grant.token),
        () => undefined,
      )
    })
    await page.goto(`${origin}/`)
    return page
  }

  /** Clicks "Create video" and waits until the page reaches completed, failed or error. */
  async function createAndSettle(page: Page, timeout = 15_000): Promise<string> {
    await page.click('#create')
    await page.waitForFunction((settled) => settled.includes(document.body.dataset.state ?? ''), SETTLED, {
      timeout,
    })
    return (await page.textContent('#status')) ?? ''
  }

  it('creates a video from an allowed origin and follows its events until completed', async () => {
    const page = await openPage(example.url)
    const before = creates()
    const minted = page.waitForResponse(`${example.url}/token`)
    const status = await createAndSettle(page)
    expect(status, `#error: ${await page.textContent('#error')}`).toBe('completed')

    const grant = await (await minted).json()
    expect(grant).toMatchObject({ gateway_url: gatewayUrl, origin: example.url, max_creates: 1 })
    expect(JSON.stringify(grant)).not.toContain(web.key)
    expect(await page.content()).not.toContain(web.key)

    const taskId = (await page.textContent('#task-id')) ?? ''
    expect(taskId).toMatch(/^sim_/)
    expect(await page.$eval('#progress', (el) => (el as HTMLProgressElement).value)).toBe(100)
    expect(await page.getAttribute('#video', 'src')).toBe(
      `https://cdn.simulator.invalid/videos/${taskId}.mp4`,
    )
    const log = await page.$$eval('#log li', (items) => items.map((li) => li.textContent ?? ''))
    expect(log.some((line) => / processing \d+%$/.test(line))).toBe(true)
    expect(log.filter((line) => / completed 100%$/.test(line))).toHaveLength(1)
    expect(creates()).toBe(before + 1)

    const list = await gw.app.inject({ method: 'GET', url: '/v1/videos', headers: bearer(web.key) })
    expect(list.json().data.items[0]).toMatchObject({ task_id: taskId, status: 'completed' })

    mkdirSync(SCREENSHOTS, { recursive: true })
    const screenshot = join(SCREENSHOTS, 'completed.png')
    await page.screenshot({ path: screenshot, fullPage: true })
    expect(existsSync(screenshot)).toBe(true)
    await page.close()
  })

  it('is blocked by the browser from an origin the tenant does not list', async () => {
    const page = await openPage(elsewhere.url)
    const failed: string[] = []
    page.on('requestfailed', (request) => {
      if (request.url().startsWith(gatewayUrl)) failed.push(`${request.method()} ${request.url()}`)
    })
    const before = creates()
    const status = await createAndSettle(page)
    expect(status).toBe('error')
    expect(await page.textContent('#error')).toContain('the browser blocked the request')
    expect(failed).toEqual([`POST ${gatewayUrl}/v1/gemini/omni/videos`])
    expect(creates()).toBe(before)
    await page.close()
  })

  it('gets 401 with a tampered token and with an expired one', async () => {
    const page = await openPage(example.url)
    const before = creates()

    // Tampered: the page's backend mints a real token, then its claims are changed on the way.
    await page.route(`${example.url}/token`, async (route) => {
      const response = await route.fetch()
      const grant = await response.json()
      const [head, payload, signature] = rememberSecret(grant.token).split('.') as [string, string, string]
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
      const forged = Buffer.from(JSON.stringify({ ...claims, max_creates: 1000 })).toString('base64url')
      await route.fulfill({
        response,
        json: { ...grant, token: rememberSecret(`${head}.${forged}.${signature}`) },
      })
    })
    expect(await createAndSettle(page)).toBe('error')
    expect(await page.getAttribute('#error', 'data-http-status')).toBe('401')
    expect(await page.textContent('#error')).toContain('40103')
    await page.unroute(`${example.url}/token`)

    // Expired: a genuine token, but the gateway's clock has moved past its lifetime.
    await page.route(`${example.url}/token`, async (route) => {
      const response = await route.fetch()
      skewMs = (TOKEN_TTL_S + 1) * 1000
      await route.fulfill({ response })
    })
    try {
      expect(await createAndSettle(page)).toBe('error')
      expect(await page.getAttribute('#error', 'data-http-status')).toBe('401')
      expect(await page.textContent('#error')).toContain('has expired')
    } finally {
      skewMs = 0
    }
    expect(creates()).toBe(before)
    await page.close()
  })
})
