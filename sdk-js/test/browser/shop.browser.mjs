// Browser tests: the real tag in Debian's Chromium, driven by playwright-core,
// through the demo shop. Not part of `npm test` (run: npm run test:browser).
//
// Needs: playwright-core importable (not a devDependency yet: npm install
// --no-save playwright-core; it never downloads a browser) and Chromium at
// $CHROMIUM or /usr/bin/chromium (apt-get install chromium). Without them the
// tests are skipped.
//
// Server: $ECRM_URL (e.g. http://127.0.0.1:8080, `ecrm run`: /ecrm.js, the demo
// shop at /demo/ and the /v1 API); otherwise the fake in server.mjs, laid out
// the same way, which also lets the tests look at every batch received.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { startServer } from './server.mjs'

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
let pw
try { pw = await import('playwright-core') } catch { pw = null }
const skip = !pw ? 'playwright-core is not installed' : !existsSync(CHROMIUM) ? 'no Chromium at ' + CHROMIUM : false
const external = process.env.ECRM_URL

let browser, server, base
before(async () => {
  if (skip) return
  if (!external) server = await startServer()
  base = (external || server.url).replace(/\/+$/, '') + '/demo'
  browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
})
after(async () => {
  if (browser) await browser.close()
  if (server) await server.close()
})

// A fresh browser profile; collects the events the page posts (from the
// requests, so this works against any server) and the page's errors.
async function session() {
  const context = await browser.newContext()
  const page = await context.newPage()
  const events = []
  const errors = []
  const answers = [] // what /v1/batch answered: {status, body}
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|ERR_FAILED/.test(m.text())) errors.push(m.text()) })
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/batch') && r.method() === 'POST') {
      try { events.push(...JSON.parse(r.postData()).batch) } catch {}
    }
  })
  page.on('response', async (r) => {
    if (r.url().endsWith('/v1/batch')) {
      let body = null
      try { body = await r.json() } catch {}
      answers.push({ status: r.status(), body })
    }
  })
  const until = async (pred, what, ms = 8000) => {
    const end = Date.now() + ms
    while (Date.now() < end) {
      const hit = events.find(pred)
      if (hit) return hit
      await page.waitForTimeout(100)
    }
    throw new Error('no event: ' + what + '; got ' + events.map((e) => e.type + ':' + (e.event || '')).join(', '))
  }
  return { context, page, events, errors, answers, until }
}

// Whether the server answers a GET with 200 (the personalize endpoints may not
// exist yet on a real server: then what they drive is not checked).
async function serves(path) {
  try { return (await fetch(base.replace(/\/demo$/, '') + path)).ok } catch { return false }
}

test('home: the tag loads, sends the page view, fills recommendations and the banner', { skip }, async (t) => {
  const { context, page, errors, answers, until } = await session()
  await page.goto(base + '/index.html?utm_source=news&utm_medium=email&utm_campaign=spring')
  const pv = await until((e) => e.type === 'page', 'page')
  assert.equal(pv.context.library.name, 'ecrm.js')
  assert.deepEqual(pv.context.campaign, { source: 'news', medium: 'email', name: 'spring' })
  assert.equal(pv.properties.path, '/demo/index.html')
  await until((e) => e.event === 'Product List Viewed', 'Product List Viewed')
  assert.equal(await page.evaluate(() => window.ecrm.__ecrm), 1)
  for (let i = 0; i < 50 && !answers.length; i++) await page.waitForTimeout(100)
  assert.equal(answers[0].status, 200)
  if (answers[0].body) assert.deepEqual(answers[0].body.rejected || [], [], 'the collector accepts every event')
  if (await serves('/v1/recommend?type=popular&writeKey=demo')) await page.waitForSelector('#recs-popular .ecrm-item')
  else t.diagnostic('no /v1/recommend on the server: recommendations not checked')
  if (!external) {
    await page.waitForSelector('#banner.shown')
    assert.match(await page.textContent('#banner'), /Spring sale/)
    const b = server.batches[0]
    assert.match(b.contentType, /^text\/plain/)
    assert.equal(b.body.writeKey, 'demo')
  }
  const cookies = await context.cookies()
  assert.ok(cookies.find((c) => c.name === 'ecrm_aid' && c.value === pv.anonymousId && c.sameSite === 'Lax'))
  assert.deepEqual(errors, [])
  await context.close()
})

test('a purchase: product, cart, checkout, order, with one anonymous id throughout', { skip }, async () => {
  const { context, page, events, errors, answers, until } = await session()
  await page.goto(base + '/product.html?id=p03')
  const viewed = await until((e) => e.event === 'Product Viewed', 'Product Viewed')
  assert.equal(viewed.properties.product_id, 'p03')
  if (await serves('/v1/recommend?type=similar&item=p03&writeKey=demo')) await page.waitForSelector('#recs-similar .ecrm-item')
  await page.click('#add-to-cart')
  await until((e) => e.event === 'Product Added', 'Product Added')
  await page.click('#cart-link')
  await until((e) => e.event === 'Cart Viewed', 'Cart Viewed')
  await page.click('#to-checkout')
  await until((e) => e.event === 'Checkout Started', 'Checkout Started')
  await page.fill('input[name=email]', 'jo@example.com')
  await page.fill('input[name=name]', 'Jo')
  await page.click('#place-order')
  await page.waitForURL(/order\.html/)
  const order = await until((e) => e.event === 'Order Completed', 'Order Completed')
  assert.equal(order.properties.currency, 'EUR')
  assert.equal(order.properties.products[0].product_id, 'p03')
  const ident = await until((e) => e.type === 'identify', 'identify')
  assert.equal(ident.traits.email, 'jo@example.com')
  assert.equal(new Set(events.map((e) => e.anonymousId)).size, 1)
  assert.equal(new Set(events.map((e) => e.messageId)).size, events.length)
  for (const a of answers) {
    assert.equal(a.status, 200)
    // (a body is unreadable when the page navigated before it arrived)
    if (a.body) assert.deepEqual(a.body.rejected || [], [])
  }
  assert.deepEqual(errors, [])
  await context.close()
})

test('login then logout: identify with the user id, then a new anonymous id', { skip }, async () => {
  const { context, page, errors, until } = await session()
  await page.goto(base + '/login.html')
  const first = await until((e) => e.type === 'page', 'page')
  await page.fill('input[name=email]', 'ann@example.com')
  await page.fill('input[name=name]', 'Ann')
  await page.click('#login-submit')
  const ident = await until((e) => e.type === 'identify' && e.userId, 'identify')
  assert.equal(ident.userId, 'u-ann-example-com')
  assert.equal(ident.anonymousId, first.anonymousId)
  await page.waitForURL(/index\.html/)
  await until((e) => e.type === 'page' && e.userId === 'u-ann-example-com', 'page as Ann')
  await page.click('#logout')
  await page.waitForURL(/index\.html/)
  const after = await until((e) => e.type === 'page' && !e.userId && e.anonymousId !== first.anonymousId, 'page after logout')
  assert.ok(after)
  assert.deepEqual(errors, [])
  await context.close()
})

test('a blocked collector leaves the shop working; events wait in localStorage', { skip }, async () => {
  const { context, page, errors } = await session()
  await context.route('**/v1/batch', (r) => r.abort())
  await page.goto(base + '/product.html?id=p10')
  await page.click('#add-to-cart')
  await page.waitForSelector('#added:has-text("Added")')
  await page.waitForTimeout(1500)
  const queued = await page.evaluate(() => JSON.parse(localStorage.getItem('ecrm_q') || '[]').map((e) => e.event || e.type))
  assert.ok(queued.includes('Product Added'), 'queued: ' + queued)
  assert.deepEqual(errors, [])
  // the collector comes back: the next page sends what waited, same messageIds
  const ids = await page.evaluate(() => JSON.parse(localStorage.getItem('ecrm_q')).map((e) => e.messageId))
  await context.unroute('**/v1/batch')
  const sent = []
  page.on('request', (r) => { if (r.url().endsWith('/v1/batch')) sent.push(...JSON.parse(r.postData()).batch.map((e) => e.messageId)) })
  await page.goto(base + '/cart.html')
  for (let i = 0; i < 50 && !ids.every((id) => sent.includes(id)); i++) await page.waitForTimeout(100)
  assert.ok(ids.every((id) => sent.includes(id)), 'every waiting event was sent')
  await context.close()
})

test('opt-out: nothing more is sent and the ids are gone', { skip }, async () => {
  const { context, page, events } = await session()
  await page.goto(base + '/index.html')
  await page.waitForSelector('#opt-out')
  await page.click('#opt-out')
  const n = events.length
  await page.goto(base + '/product.html?id=p05')
  await page.waitForTimeout(1500)
  assert.equal(events.length, n)
  assert.equal(await page.evaluate(() => localStorage.getItem('ecrm_aid')), null)
  assert.ok(!(await context.cookies()).some((c) => c.name === 'ecrm_aid'))
  await context.close()
})
