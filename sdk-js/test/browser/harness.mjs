// What the browser tests share: the real `ecrm run` (built from ../cmd/ecrm
// or $ECRM_BIN), a small "customer site" on another loopback port whose
// pages load the tag cross-origin from ecrm, Debian's Chromium driven by
// playwright-core (which never downloads a browser), and helpers that read
// what ecrm made of the hits: the profile API and /metrics.
import { spawn, execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const SDK = join(HERE, '../..')
export const SHOTS = join(HERE, 'screenshots')
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--disable-dev-shm-usage',
]
export const TOKEN = 'browser-test-' + randomBytes(12).toString('hex')
// How long ecrm may take to turn a hit into a profile on a busy 2-core machine.
export const PROFILE_TIMEOUT = Number(process.env.ECRM_BROWSER_TIMEOUT_MS) || 45_000

export const rand = () => randomBytes(6).toString('hex')

// --- ecrm run ---------------------------------------------------------------

function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

/**
 * Starts the real server: $ECRM_BIN, or a binary built here from ../cmd/ecrm
 * (its /ecrm.js is the committed dist/ecrm.min.js, embedded). Returns
 * {base, token, dataDir, stop(): exit code}. Waits until /readyz says ready.
 */
export async function startEcrm() {
  const tmp = await mkdtemp(join(tmpdir(), 'ecrm-browser-'))
  let bin = process.env.ECRM_BIN
  if (!bin) {
    bin = join(tmp, 'ecrm')
    await run('go', ['build', '-o', bin, '../cmd/ecrm'], { cwd: SDK, timeout: 600_000 })
      .catch(async (e) => { await rm(tmp, { recursive: true, force: true }); throw e })
  }
  const dataDir = join(tmp, 'data')
  const logFile = join(tmp, 'ecrm.log')
  const log = createWriteStream(logFile)
  // The environment without any ECRM_* setting of the caller's, so that the
  // flags below are what runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ECRM_')))
  env.ECRM_ADMIN_TOKEN = TOKEN
  const child = spawn(bin, ['run', '--addr', '127.0.0.1:0', '--broker-addr', '127.0.0.1:0',
    '--data-dir', dataDir, '--partitions', '2', '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const killOnExit = () => { try { child.kill('SIGKILL') } catch {} }
  process.on('exit', killOnExit)
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)))
  child.stderr.pipe(log)
  const tail = () => { try { return readFileSync(logFile, 'utf8').slice(-4000) } catch { return '' } }

  let out = ''
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ecrm run did not print its URL within 90s:\n' + out + tail())), 90_000)
    child.stdout.on('data', (d) => {
      out += d
      log.write(d)
      const m = /ecrm run listening on (http:\/\/\S+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(m[1]) }
    })
    exited.then((code) => { clearTimeout(timer); reject(new Error(`ecrm run exited (${code}) before listening:\n${out}${tail()}`)) })
  })
  child.stdout.on('data', (d) => log.write(d))

  const deadline = Date.now() + 90_000
  for (let last = ''; ; await sleep(200)) {
    try {
      const r = await fetch(base + '/readyz')
      if (r.ok) break
      last = await r.text()
    } catch (e) { last = e.message }
    if (Date.now() > deadline) throw new Error('ecrm run not ready within 90s: ' + last + '\n' + tail())
  }

  let stopped
  async function stop() {
    if (stopped) return stopped
    stopped = (async () => {
      child.kill('SIGTERM')
      const code = await Promise.race([exited, sleep(40_000, 'timeout')])
      if (code === 'timeout') {
        child.kill('SIGKILL')
        await exited
      }
      process.off('exit', killOnExit)
      log.end()
      if (code === 0 && !process.env.ECRM_BROWSER_KEEP) await rm(tmp, { recursive: true, force: true })
      return code
    })()
    return stopped
  }
  return { base, token: TOKEN, dataDir, logFile, tail, stop }
}

// --- the customer site ---------------------------------------------------------

// The snippet exactly as sdk-js/README.md gives it (so the documentation is
// what runs), pointed at ecrm's /ecrm.js.
const readme = readFileSync(join(SDK, 'README.md'), 'utf8')
const block = /<!-- snippet:start -->\s*```html\n([\s\S]*?)```\s*<!-- snippet:end -->/.exec(readme)
const stub = /^!function.*$/m.exec(block[1])[0]
if (!stub.includes('"https://collect.example.com/ecrm.js"')) throw new Error('the README snippet no longer loads https://collect.example.com/ecrm.js')

/**
 * A page of the site: the snippet loading `${tag}`, then `code` (the page's
 * own calls, e.g. `ecrm.load("demo"); ecrm.page()`) in the same script,
 * then `body`.
 */
export function sitePage({ tag, code = '', title = 'ecrm browser test', body = '' }) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,">
<script>
${stub.replace('"https://collect.example.com/ecrm.js"', JSON.stringify(tag))}
${code}
</script>
</head>
<body><h1>${title}</h1>
${body}
</body></html>`
}

/**
 * A static site on its own loopback port (another origin than ecrm's, same
 * site: cookies go by host, so SameSite=Lax cookies travel, as for
 * shop.example and collect.shop.example). page(path, html) adds a page and
 * returns its URL. Every other path answers a plain page without the tag.
 */
export async function startSite(host = '127.0.0.1') {
  const pages = new Map()
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    const html = pages.get(path) ?? `<!doctype html><title>${path}</title><h1>No tag here: ${path}</h1>`
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
    res.end(html)
  })
  await new Promise((r) => server.listen(0, host, r))
  const origin = `http://${host}:${server.address().port}`
  return {
    origin,
    page(path, html) { pages.set(path, html); return origin + path },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r) }),
  }
}

// --- ecrm's answers -----------------------------------------------------------------

/** The API of a running ecrm: profiles, metrics, sites. */
export function api(ecrm) {
  const auth = { Authorization: 'Bearer ' + ecrm.token }
  async function profile(id) {
    const r = await fetch(ecrm.base + '/v1/profiles/' + encodeURIComponent(id), { headers: auth })
    return { status: r.status, body: await r.json().catch(() => null) }
  }
  return {
    profile,
    /**
     * Polls GET /v1/profiles/{id} until ok(profile) holds; returns the
     * profile. Fails with the last answer after `timeout` ms.
     */
    async profileWhen(id, ok, what = 'as expected', timeout = PROFILE_TIMEOUT) {
      const end = Date.now() + timeout
      let last
      for (;;) {
        last = await profile(id)
        if (last.status === 200 && ok(last.body)) return last.body
        if (Date.now() > end) throw new Error(`profile ${id} never ${what} within ${timeout} ms; last answer ${last.status} ${JSON.stringify(last.body)}`)
        await sleep(150)
      }
    },
    /**
     * Checks for `ms` that the profile stays as ok says (to catch a late
     * duplicate or a late extra page view); returns it.
     */
    async profileStays(id, ok, what, ms = 3000) {
      const end = Date.now() + ms
      let last
      do {
        last = await profile(id)
        if (last.status !== 200 || !ok(last.body)) throw new Error(`profile ${id} no longer ${what}: ${last.status} ${JSON.stringify(last.body)}`)
        await sleep(250)
      } while (Date.now() < end)
      return last.body
    },
    /**
     * One hit straight to the collector, waited for in its profile: the
     * whole path (collector, broker, profiler, view) has run once before the
     * first test's clock starts.
     */
    async warmUp(userAgent) {
      const aid = 'warm-up-' + rand()
      const r = await fetch(ecrm.base + '/v1/batch', {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': userAgent },
        body: JSON.stringify({ writeKey: 'demo', batch: [{ type: 'page', anonymousId: aid, name: 'Warm-up' }] }),
      })
      if (!r.ok) throw new Error('warm-up hit: ' + r.status + ' ' + await r.text())
      await this.profileWhen('a:' + aid, (p) => p.pageViews === 1, 'with the warm-up page view', 90_000)
    },
    /**
     * Polls the console's live feed (GET /v1/console/live: the latest hits
     * personalize has read from the hits topic) until the hits of the
     * visitor (anonymous id aid, or user id uid) name every one of types
     * (an event's name, or the type of a page or identify); returns those
     * hits. What arrived is checked at ecrm, not at the browser: a beacon
     * sent while a page unloads does not always reach the DevTools
     * protocol that playwright records requests through.
     */
    async hitsWhen(aid, uid, types, timeout = PROFILE_TIMEOUT) {
      const end = Date.now() + timeout
      for (;;) {
        const r = await fetch(ecrm.base + '/v1/console/live?n=200', { headers: auth })
        const hits = r.ok ? (await r.json()).hits.filter((h) => h.anonymousId === aid || (uid && h.userId === uid)) : []
        const names = hits.map((h) => h.event || h.type)
        const missing = types.filter((t) => !names.includes(t))
        if (!missing.length) return hits
        if (Date.now() > end) throw new Error(`hits of ${aid} never named ${missing} within ${timeout} ms; they name ${names} (${r.status})`)
        await sleep(200)
      }
    },
    /** ecrm_collector_events_total{result} (0 before the first such event). */
    async events(result = 'accepted') {
      const text = await (await fetch(ecrm.base + '/metrics')).text()
      const m = new RegExp(`^ecrm_collector_events_total\\{result="${result}"\\} (\\S+)$`, 'm').exec(text)
      return m ? Number(m[1]) : 0
    },
    async putSite(id, site) {
      const r = await fetch(ecrm.base + '/v1/sites/' + id, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(site) })
      if (!r.ok) throw new Error(`PUT /v1/sites/${id}: ${r.status} ${await r.text()}`)
      return r.json()
    },
  }
}

/** Polls pred() (sync or async) until truthy; returns its value. */
export async function until(pred, what, timeout = PROFILE_TIMEOUT) {
  const end = Date.now() + timeout
  for (;;) {
    const v = await pred()
    if (v) return v
    if (Date.now() > end) throw new Error('timed out waiting for ' + what)
    await sleep(100)
  }
}

// --- the browser ------------------------------------------------------------------------

// A start of Chromium that fails (CI once saw one die with SIGSEGV right
// after launch, on a fresh machine, while the same build started fine
// minutes before) is tried again with a new profile, up to three times; each
// failure is printed whole, so that a browser that never starts still says
// why.
export async function launch(attempts = 3) {
  const { chromium } = await import('playwright-core')
  let browser
  for (let i = 1; ; i++) {
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 })
      break
    } catch (e) {
      process.stderr.write(`chromium launch ${i}/${attempts} failed: ${e?.stack || e}\n`)
      if (i >= attempts) throw e
      await sleep(2000 * i)
    }
  }
  // Headless Chromium says "HeadlessChrome" in its User-Agent, which ecrm
  // rightly takes for a bot and keeps out of profiles: the tests browse as
  // the same Chromium with its ordinary desktop User-Agent.
  const major = browser.version().split('.')[0]
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`
  return { browser, userAgent }
}

/**
 * A fresh browser profile (cookies, storage) with a page, recording every
 * request to ecrm's /v1/ API: {url, path, method, type (resourceType), body
 * (parsed JSON or null), events (the batch's), headers (request headers
 * with the Cookie header, once known), status, responseHeaders, failure}.
 */
export async function session(browser, userAgent, ecrmBase) {
  const context = await browser.newContext({ userAgent, viewport: { width: 1100, height: 800 } })
  context.setDefaultTimeout(30_000)
  context.setDefaultNavigationTimeout(60_000)
  const page = await context.newPage()
  const calls = []
  const errors = []
  const byReq = new Map()
  page.on('pageerror', (e) => errors.push(e.message))
  context.on('request', (r) => {
    if (!r.url().startsWith(ecrmBase + '/v1/')) return
    let body = null
    try { body = JSON.parse(r.postData()) } catch {}
    const c = {
      url: r.url(), path: new URL(r.url()).pathname, method: r.method(), type: r.resourceType(),
      body, events: body?.batch || [], headers: null, status: null, responseHeaders: null, failure: null, done: false,
    }
    c.headersP = r.allHeaders().then((h) => { c.headers = h }, () => {})
    calls.push(c)
    byReq.set(r, c)
  })
  context.on('requestfinished', async (r) => {
    const c = byReq.get(r)
    if (!c) return
    try {
      const res = await r.response()
      c.status = res?.status() ?? null
      c.responseHeaders = res ? await res.allHeaders() : null
    } catch {}
    c.done = true
  })
  context.on('requestfailed', (r) => {
    const c = byReq.get(r)
    if (!c) return
    c.failure = r.failure()?.errorText || 'failed'
    c.done = true
  })
  const batches = () => calls.filter((c) => c.path === '/v1/batch')
  return {
    context, page, calls, errors, batches,
    /** The events of every /v1/batch request so far, in the order sent. */
    sentEvents: () => batches().flatMap((c) => c.events),
    /** The events the collector answered 200 to. */
    deliveredEvents: () => batches().filter((c) => c.status === 200).flatMap((c) => c.events),
    /** Waits until a /v1/batch request matching pred got an answer; returns it. */
    async batchWhere(pred, what, timeout = PROFILE_TIMEOUT) {
      return until(() => batches().find((c) => c.done && pred(c)), what, timeout)
    },
    /** Waits for the tag to be installed; returns ecrm.user(). */
    async tagUser() {
      await page.waitForFunction(() => window.ecrm && window.ecrm.__ecrm === 1, null, { timeout: 30_000 })
      return page.evaluate(() => window.ecrm.user())
    },
    /** The tag's queue of waiting events (localStorage ecrm_q). */
    queued: () => page.evaluate(() => JSON.parse(localStorage.getItem('ecrm_q') || '[]')),
    /** Waits until every /v1/batch request has an answer and the tag's queue is empty. */
    async drained(timeout = PROFILE_TIMEOUT) {
      await until(async () => batches().every((c) => c.done) && (await page.evaluate(() => JSON.parse(localStorage.getItem('ecrm_q') || '[]').length)) === 0, 'the tag to have sent everything', timeout)
    },
  }
}

/** Saves a screenshot of page as screenshots/<name>.png (never fails the test). */
export async function screenshot(page, name) {
  try {
    mkdirSync(SHOTS, { recursive: true })
    if (page && !page.isClosed()) await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true, timeout: 15_000 })
  } catch {}
}

/** Writes what a failed test saw next to its screenshot. */
export async function dump(name, data) {
  try {
    mkdirSync(SHOTS, { recursive: true })
    await writeFile(join(SHOTS, name + '.json'), JSON.stringify(data, null, 2))
  } catch {}
}

export const haveBrowser = () => existsSync(CHROMIUM)
