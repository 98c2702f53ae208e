// The marketers' console in a real browser against the real server:
// `ecrm run` fed by `ecrm simulate` (3000 events) and a few hits of our
// own, Debian's Chromium driven by playwright-core. Each check compares
// what the page shows with what the console's API answers.
//
//   node --test test/browser/console.test.mjs     (from sdk-js/)
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { startEcrm, launch, screenshot, dump, until, rand, haveBrowser, CHROMIUM } from './harness.mjs'

const SDK = fileURLToPath(new URL('../..', import.meta.url))
const XSS = '<img src=x onerror=alert(1)>'
const TEST_TIMEOUT = 180_000

let ecrm, browser, userAgent, context, page
const dialogs = []
const pageErrors = []
const user = 'console-' + rand()
const email = user + '@example.com'

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

// The console's API, with the admin token.
async function api(path, init = {}) {
  const r = await fetch(ecrm.base + path, { ...init, headers: { Authorization: 'Bearer ' + ecrm.token, 'Content-Type': 'application/json', ...init.headers } })
  const body = await r.json().catch(() => null)
  return { status: r.status, body }
}

// Hits as a browser would send them (ecrm keeps bots, curl and node's
// own User-Agent among them, out of profiles).
async function send(batch) {
  const r = await fetch(ecrm.base + '/v1/batch', {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': userAgent }, body: JSON.stringify({ writeKey: 'demo', batch }),
  })
  assert.equal(r.status, 200, 'POST /v1/batch: ' + await r.text())
}

before(async () => {
  if (!haveBrowser()) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`)
  // One binary for the server and the simulator.
  if (!process.env.ECRM_BIN) {
    const dir = await mkdtemp(join(tmpdir(), 'ecrm-console-'))
    process.env.ECRM_BIN = join(dir, 'ecrm')
    await run('go', ['build', '-o', process.env.ECRM_BIN, '../cmd/ecrm'], { cwd: SDK, timeout: 600_000 })
  }
  const [e, b] = await Promise.all([startEcrm(), launch()])
  ecrm = e;
  ({ browser, userAgent } = b)
  const probe = await api('/v1/console/live?n=1')
  if (probe.status === 404) throw new Error('the console is not mounted in this ecrm build (serve.go: personalize.NewConsole(...).Routes(app, auth))')

  await run(process.env.ECRM_BIN, ['simulate', '--target', ecrm.base, '--events', '3000', '--rate', '1000'], { timeout: 120_000 })
  await send([
    { type: 'page', messageId: user + '-1', userId: user, name: 'Home', context: { page: { url: 'https://shop.example/' } } },
    { type: 'identify', messageId: user + '-2', userId: user, traits: { email, name: 'Console Tester' } },
    { type: 'track', messageId: user + '-3', userId: user, event: 'Order Completed', properties: { order_id: user + '-o1', revenue: 120, currency: 'EUR', products: [{ product_id: 'p01', price: 60, quantity: 2 }] } },
    { type: 'track', messageId: user + '-4', userId: user, event: 'Order Completed', properties: { order_id: user + '-o2', revenue: 75.5, currency: 'EUR' } },
  ])
  await until(async () => (await api('/v1/profiles/u:' + user)).body?.orders?.count === 2, 'the test customer\'s two orders', 60_000)
  // Let the simulated traffic settle: the funnel stops moving.
  let last = ''
  await until(async () => {
    const now = JSON.stringify((await api('/v1/console/funnel')).body.total)
    const same = now === last
    last = now
    if (!same) await sleep(1000)
    return same
  }, 'the funnel to settle', 90_000)

  context = await browser.newContext({ userAgent, viewport: { width: 1280, height: 900 } })
  context.setDefaultTimeout(30_000)
  page = await context.newPage()
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}) })
  page.on('pageerror', (err) => pageErrors.push(err.message))
}, { timeout: 600_000 })

after(async () => {
  await context?.close().catch(() => {})
  await browser?.close().catch(() => {})
  if (ecrm) {
    const code = await ecrm.stop()
    assert.equal(code, 0, 'ecrm run stops cleanly on SIGTERM; its log:\n' + ecrm.tail())
  }
}, { timeout: 120_000 })

function consoleTest(name, shot, fn) {
  test(name, { timeout: TEST_TIMEOUT }, async () => {
    try {
      await fn()
      assert.deepEqual(pageErrors, [], 'no script error on the page')
    } catch (e) {
      await dump('console-' + shot, { error: String(e?.stack || e), pageErrors, dialogs })
      throw e
    } finally {
      await screenshot(page, 'console-' + shot)
    }
  })
}

// Opens the console at hash, signing in through the form when asked.
async function open(hash) {
  await page.goto(ecrm.base + '/console/' + hash)
  await page.waitForFunction(() => !document.getElementById('login').hidden || document.querySelector('#view > .view'))
  if (await page.isVisible('#login-form')) {
    await page.fill('#token', ecrm.token)
    await page.click('#login-form button[type=submit]')
    await page.waitForSelector('#view > .view')
  }
}

const cellValues = (selector) => page.$$eval(selector, (tds) => Object.fromEntries(tds.map((td) => [td.dataset.stage, Number(td.dataset.value)])))

consoleTest('the console asks for the token, refuses a wrong one, and keeps it out of URLs', 'login', async () => {
  await page.goto(ecrm.base + '/console/')
  await page.waitForSelector('#login-form')
  assert.equal(await page.isVisible('#nav'), false, 'no navigation before signing in')
  await page.fill('#token', 'not-the-token')
  await page.click('#login-form button[type=submit]')
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0)
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ecrm_console_token')), null)
  await page.fill('#token', ecrm.token)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#funnel-stages')
  assert.equal(await page.evaluate(() => sessionStorage.getItem('ecrm_console_token')), ecrm.token)
  assert.ok(!page.url().includes(ecrm.token), 'the token is not in the URL')
})

consoleTest('the funnel on the page is the API\'s', 'funnel', async () => {
  await open('#funnel')
  await page.waitForSelector('#funnel-stages td[data-stage]')
  const from = await page.inputValue('#funnel-from')
  const to = await page.inputValue('#funnel-to')
  const shown = await cellValues('#funnel-stages td[data-stage]')
  const { body } = await api(`/v1/console/funnel?from=${from}&to=${to}`)
  assert.deepEqual(shown, body.total.stages)
  assert.ok(body.total.stages.visitor > 50, 'the simulated visitors are counted: ' + JSON.stringify(body.total.stages))
  assert.ok(await page.locator('#funnel-out svg.chart rect.bar').count() === 5, 'a bar per stage')
  // By channel: the rows of the page are the API's.
  const rows = await page.$$eval('#funnel-channels tbody tr', (trs) => trs.map((tr) => tr.querySelector('th').textContent))
  assert.deepEqual(rows, body.channels.map((c) => c.key))
  const cohorts = await page.locator('#funnel-cohorts tbody tr').count()
  assert.equal(cohorts, body.cohorts.length)
})

consoleTest('the value view shows the Pareto curve, the RFM grid and policies', 'value', async () => {
  await open('#value')
  await page.waitForSelector('#value-grid')
  const { body } = await api('/v1/console/value')
  const shown = await page.$$eval('#value-grid td.heat', (tds) => tds.reduce((n, td) => n + Number(td.dataset.count), 0))
  assert.equal(shown, body.grid.flat().reduce((n, c) => n + c.count, 0))
  assert.ok(await page.locator('#value-out svg path.line').count() === 1, 'the Pareto curve')
  const policies = await page.locator('#value-tiers tbody .tag').allTextContents()
  assert.ok(policies.includes('keep and reward'), 'tiers carry their policy: ' + policies)
})

consoleTest('a segment made in the page is in the API with the same count', 'segments', async () => {
  const id = 'buyers-' + rand()
  await open('#segments')
  await page.waitForSelector('#seg-form')
  await page.fill('#seg-id', id)
  await page.fill('#seg-name', 'Buyers')
  await page.fill('#seg-expr', 'orders >= 1')
  await page.waitForSelector('#seg-preview[data-count]')
  const previewed = Number(await page.getAttribute('#seg-preview', 'data-count'))
  await page.click('#seg-form button[type=submit]')
  await page.waitForSelector(`[data-segment-count="${id}"][data-count]`)
  const listed = Number(await page.getAttribute(`[data-segment-count="${id}"]`, 'data-count'))
  const seg = await api('/v1/segments/' + id)
  assert.equal(seg.status, 200)
  assert.equal(seg.body.expr, 'orders >= 1')
  const count = await api(`/v1/console/segments/${id}/count`)
  assert.ok(count.body.count >= 1, 'the test customer at least')
  assert.equal(previewed, count.body.count)
  assert.equal(listed, count.body.count)
  // The export downloads through fetch with the header, as a file.
  const row = page.locator('#segments-table tbody tr', { has: page.locator(`[data-segment="${id}"]`) })
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Export CSV' }).click()])
  assert.equal(download.suggestedFilename(), `segment-${id}.csv`)
  const lines = (await (await import('node:fs/promises')).readFile(await download.path(), 'utf8')).trim().split('\n')
  assert.equal(lines.length, count.body.count + 1, 'a header and a line per member')
})

consoleTest('a customer\'s 360° page shows their orders', 'customer', async () => {
  await open('#customers')
  await page.fill('#customers-q', email)
  await page.click('#customers-form button[type=submit]')
  await page.click('#customers-results tbody a')
  await page.waitForSelector('#c360-orders')
  const orders = await page.locator('#c360-orders tbody tr th').allTextContents()
  assert.deepEqual(orders, [user + '-o2', user + '-o1'])
  assert.match(await page.textContent('#c360-title'), /Console Tester/)
  assert.match(await page.textContent('#c360-value'), /repeat/)
  assert.ok((await page.locator('#c360-timeline li.tl-order').count()) === 2)
})

consoleTest('campaigns: one made in the page, with its report', 'campaigns', async () => {
  const id = 'promo-' + rand()
  await open('#campaigns')
  await page.fill('#camp-id', id)
  await page.fill('#camp-name', 'Promo')
  await page.fill('#camp-placement', 'home_banner')
  await page.fill('#camp-segment', 'orders == 0')
  await page.fill('#camp-title', 'Welcome offer')
  await page.click('#camp-form button[type=submit]')
  const row = page.locator('#campaigns-table tbody tr', { hasText: id })
  await row.waitFor()
  assert.equal((await api('/v1/campaigns/' + id)).body.placement, 'home_banner')
  // Exposures for the report.
  for (let i = 0; i < 20; i++) await fetch(`${ecrm.base}/v1/decide?placement=home_banner&anonymousId=cv-${i}&writeKey=demo`)
  await row.getByRole('button', { name: 'Report' }).click()
  await page.waitForSelector('#campaign-arms')
})

consoleTest('live shows an event named with HTML as text, and nothing runs', 'live', async () => {
  await send([{ type: 'track', messageId: 'xss-' + rand(), anonymousId: 'xss-' + rand(), event: XSS, context: { page: { url: 'https://shop.example/"><script>alert(2)</script>' } } }])
  await open('#live')
  await page.waitForSelector('#live-table')
  await until(async () => (await page.locator('#live-table td', { hasText: XSS }).count()) > 0, 'the hit in Live', 30_000)
  const cell = page.locator('#live-table td', { hasText: XSS }).first()
  assert.equal(await cell.textContent(), XSS)
  assert.equal(await page.locator('#live-table img, #live-table script').count(), 0, 'no element made from the hit')
  const stamp = await page.textContent('#live-stamp')
  await page.waitForFunction((s) => document.querySelector('#live-stamp').textContent !== s, stamp, { timeout: 10_000 })
  assert.deepEqual(dialogs, [], 'no dialog')
})
