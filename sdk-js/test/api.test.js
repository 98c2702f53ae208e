import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { loaded, makeEnv, El, drain } from './helpers.js'
import { createTracker } from '../src/tracker.js'
import { VERSION } from '../src/version.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)))

test('VERSION matches package.json', () => {
  assert.equal(VERSION, pkg.version)
})

test('page(): Segment page event with page properties and context', async () => {
  const { env, t } = loaded({ flushAt: 100 })
  t.page()
  t.page('Shoes', { category: 'shoes' })
  t.page({ custom: 1 })
  env.fire('pagehide')
  const [a, b, c] = env.beacons[0].body.batch
  const page = {
    path: '/products/shoes',
    referrer: 'https://search.example/?q=shoes',
    search: '?utm_source=news&utm_medium=email&utm_campaign=spring',
    title: 'Shoes - Shop',
    url: 'https://shop.example/products/shoes?utm_source=news&utm_medium=email&utm_campaign=spring',
  }
  assert.equal(a.type, 'page')
  assert.equal(a.name, undefined)
  assert.deepEqual(a.properties, page)
  assert.deepEqual(a.context.page, page)
  assert.equal(a.context.userAgent, 'Mozilla/5.0 (Test) ecrm-test')
  assert.equal(a.context.locale, 'en-GB')
  assert.deepEqual(a.context.library, { name: 'ecrm.js', version: pkg.version })
  assert.equal(a.timestamp, new Date(env.clock.t).toISOString())
  assert.equal(b.name, 'Shoes')
  assert.deepEqual(b.properties, { ...page, name: 'Shoes', category: 'shoes' })
  assert.equal(c.properties.custom, 1)
  assert.equal(c.name, undefined)
})

test('the url in page context drops the #fragment', async () => {
  const { env, t } = loaded({ flushAt: 1 }, { url: 'https://shop.example/a?b=1#top' })
  t.page()
  await env.tick()
  assert.equal(env.events()[0].context.page.url, 'https://shop.example/a?b=1')
})

test('track(): event name and properties', async () => {
  const { env, t } = loaded({ flushAt: 100 })
  t.track('Signed Up', { plan: 'pro' })
  t.track('No Props')
  env.fire('pagehide')
  const [a, b] = env.beacons[0].body.batch
  assert.equal(a.event, 'Signed Up')
  assert.deepEqual(a.properties, { plan: 'pro' })
  assert.deepEqual(b.properties, {})
})

test('e-commerce helpers emit the Segment spec event names', async () => {
  const { env, t } = loaded({ flushAt: 100 })
  const product = { product_id: 'p1', sku: 'SKU1', name: 'Red Shoe', price: 59.9, category: 'shoes', quantity: 1 }
  t.productViewed(product)
  t.productAdded(product)
  t.productRemoved(product)
  t.productClicked(product)
  t.productListViewed({ list_id: 'home', products: [product] })
  t.cartViewed([product])
  t.checkoutStarted({ order_id: 'o1', value: 59.9, currency: 'EUR', products: [product] })
  const order = { order_id: 'o1', total: 64.9, revenue: 59.9, shipping: 5, currency: 'EUR', products: [product] }
  t.orderCompleted(order)
  t.productsSearched('red shoes')
  t.productsSearched({ query: 'blue' })
  env.fire('pagehide')
  const evs = env.beacons[0].body.batch
  assert.deepEqual(evs.map((e) => e.event), [
    'Product Viewed', 'Product Added', 'Product Removed', 'Product Clicked', 'Product List Viewed',
    'Cart Viewed', 'Checkout Started', 'Order Completed', 'Products Searched', 'Products Searched',
  ])
  assert.ok(evs.every((e) => e.type === 'track'))
  assert.deepEqual(evs[0].properties, product)
  assert.deepEqual(evs[5].properties, { products: [product] })
  assert.deepEqual(evs[7].properties, order)
  assert.deepEqual(evs[8].properties, { query: 'red shoes' })
  assert.deepEqual(evs[9].properties, { query: 'blue' })
})

test('calls before load() are held and replayed in order once loaded', async () => {
  const env = makeEnv()
  const t = createTracker(env.w, 'https://collect.example/ecrm.js')
  t.page()
  t.track('A')
  const rec = t.recommend({ type: 'popular' })
  await env.tick(5000)
  assert.equal(env.requests.length, 0)
  env.respond = (req) => ({ status: 200, body: req.url.includes('/recommend') ? { items: [{ id: 'x' }] } : {} })
  t.load('wk', { flushAt: 2 })
  assert.deepEqual(await rec, { items: [{ id: 'x' }] })
  await env.tick()
  assert.deepEqual(env.events().map((e) => e.type + (e.event || '')), ['page', 'trackA'])
  assert.equal(env.batches()[0].body.writeKey, 'wk')
})

test('load() twice is ignored', async () => {
  const { env, t } = loaded({ flushAt: 1 })
  t.load('other', { host: 'https://elsewhere.example' })
  t.track('A')
  await env.tick()
  assert.equal(env.requests[0].url, 'https://collect.example/v1/batch')
  assert.equal(env.requests[0].body.writeKey, 'wk_test')
})

test('public methods never throw into the page', async () => {
  const circular = { a: 1 }
  circular.self = circular
  for (const envOptions of [{}, { noStorage: true }, { brokenCookies: true }, { noFetch: true }]) {
    const { env, t } = loaded({ flushAt: 1, spa: true }, envOptions)
    assert.doesNotThrow(() => {
      t.track('Circular', circular)
      t.track('BigInt', { n: 10n })
      t.page(null, null)
      t.identify(undefined, undefined)
      t.alias()
      t.productViewed()
      t.orderCompleted(null)
      t.consent()
      t.consent(true)
      t.reset()
      t.flush()
      t.render()
      t.render(null)
      env.fire('pagehide')
      env.hide()
    })
    await env.tick(3000)
  }
})

test('works without storage or cookies (memory only)', async () => {
  const { env, t } = loaded({ flushAt: 1 }, { noStorage: true, brokenCookies: true })
  t.page()
  t.track('A')
  await env.tick()
  const evs = env.events()
  assert.equal(evs.length, 2)
  assert.equal(evs[0].anonymousId, evs[1].anonymousId)
})

test('recommend() and decide(): GET with ids and write key, parsed JSON', async () => {
  const { env, t } = loaded({}, {
    respond: (req) => ({ status: 200, body: req.url.includes('recommend') ? { items: [{ id: 'p2' }] } : { campaign: 'c1' } }),
  })
  t.identify('u9')
  const aid = env.stored('aid')
  assert.deepEqual(await t.recommend({ type: 'similar', item: 'p1', n: 4, cart: ['p1', 'p3'] }), { items: [{ id: 'p2' }] })
  assert.deepEqual(await t.decide('home_banner'), { campaign: 'c1' })
  const [r, d] = env.requests.map((q) => new URL(q.url))
  assert.equal(r.origin + r.pathname, 'https://collect.example/v1/recommend')
  assert.deepEqual(Object.fromEntries(r.searchParams), {
    type: 'similar', item: 'p1', n: '4', cart: 'p1,p3', anonymousId: aid, userId: 'u9', writeKey: 'wk_test',
  })
  assert.equal(d.origin + d.pathname, 'https://collect.example/v1/decide')
  assert.deepEqual(Object.fromEntries(d.searchParams), { placement: 'home_banner', anonymousId: aid, userId: 'u9', writeKey: 'wk_test' })
  assert.equal(env.requests[0].opts, undefined, 'plain GET')
})

test('recommend(): no userId when anonymous; recommendHost option', async () => {
  const { env, t } = loaded({ recommendHost: 'https://p.example/' }, { respond: () => ({ status: 200, body: [] }) })
  await t.recommend({ type: 'popular', item: null })
  const u = new URL(env.requests[0].url)
  assert.equal(u.origin, 'https://p.example')
  assert.deepEqual([...u.searchParams.keys()], ['type', 'anonymousId', 'writeKey'])
})

test('recommend() and decide() resolve to null on failure, never reject', async () => {
  for (const respond of [
    () => ({ status: 500, body: {} }),
    () => ({ status: 404, body: {} }),
    () => ({ status: 200, body: 'not json{' }),
    () => { throw new TypeError('Failed to fetch') },
  ]) {
    const { t } = loaded({}, { respond })
    assert.equal(await t.recommend({ type: 'popular' }), null)
    assert.equal(await t.decide('home_banner'), null)
  }
})

test('spa: History API navigation sends page views with the previous URL as referrer', async () => {
  const { env, t } = loaded({ spa: true, flushAt: 1 }, { url: 'https://shop.example/' })
  t.page()
  await env.tick()
  env.w.history.pushState({}, '', '/product?id=1')
  env.document.title = 'Product 1'
  await env.tick()
  env.w.history.replaceState({}, '', '/product?id=1#reviews') // same page: no view
  await env.tick()
  env.location.set('/cart')
  env.fire('popstate')
  await env.tick()
  const evs = env.events()
  assert.deepEqual(evs.map((e) => e.properties.path + e.properties.search), ['/', '/product?id=1', '/cart'])
  assert.equal(evs[1].properties.title, 'Product 1', 'title read after the app updated it')
  assert.equal(evs[1].context.page.referrer, 'https://shop.example/')
  assert.equal(evs[2].context.page.referrer, 'https://shop.example/product?id=1')
})

test('without spa, History API navigation sends nothing', async () => {
  const { env, t } = loaded({ flushAt: 1 })
  t.page()
  env.w.history.pushState({}, '', '/next')
  await env.tick(2000)
  assert.equal(env.events().length, 1)
})

function shelf(attrs) {
  const el = new El('div', attrs)
  return el
}

test('render(): fills data-ecrm-recommend elements with text and attributes only', async () => {
  const items = [
    { id: 'p1', name: '<img src=x onerror=alert(1)>', url: '/product.html?id=p1', image: 'data:image/svg+xml,%3Csvg%3E%3C/svg%3E', price: 12.5 },
    { id: 'p2', name: 'Evil', url: 'javascript:alert(1)', image: 'javascript:alert(2)', price: '9,00 €' },
    { id: 'p3', name: 'Tab', url: 'java\tscript:alert(1)', image: 'https://img.example/p3.png' },
  ]
  const env = makeEnv({ respond: () => ({ status: 200, body: { items } }) })
  const similar = shelf({ 'data-ecrm-recommend': 'similar', 'data-ecrm-item': 'p9', 'data-ecrm-n': '3' })
  const popular = shelf({ 'data-ecrm-recommend': 'popular' })
  env.body.appendChild(similar)
  env.body.appendChild(new El('section')).appendChild(popular)
  const t = createTracker(env.w, 'https://collect.example/ecrm.js')
  t.load('wk', { flushAt: 1 })
  await env.tick()
  const urls = env.requests.map((r) => new URL(r.url))
  assert.deepEqual(urls.map((u) => [u.searchParams.get('type'), u.searchParams.get('item'), u.searchParams.get('n')]), [
    ['similar', 'p9', '3'], ['popular', null, '4'],
  ])
  const links = similar.find('a')
  assert.equal(links.length, 3)
  assert.equal(links[0].attrs.class, 'ecrm-item')
  assert.equal(links[0].attrs.href, '/product.html?id=p1')
  assert.equal(links[0].find('img')[0].attrs.src, items[0].image)
  assert.equal(links[0].find('img')[0].attrs.alt, items[0].name)
  assert.equal(links[0].find('span')[0].textContent, items[0].name, 'names are text, never markup')
  assert.equal(links[0].find('span')[1].textContent, '12.50')
  assert.equal(links[1].attrs.href, undefined, 'javascript: URLs are never set')
  assert.equal(links[1].find('img').length, 0)
  assert.equal(links[1].find('span')[1].textContent, '9,00 €')
  assert.equal(links[2].attrs.href, undefined)
  assert.equal(links[2].find('img')[0].attrs.src, 'https://img.example/p3.png')
  assert.equal(popular.find('a').length, 3)

  // rendering again with the same attributes does not fetch again
  t.render()
  await env.tick()
  assert.equal(env.requests.filter((r) => r.url.includes('recommend')).length, 2)
  // a changed item re-renders
  similar.setAttribute('data-ecrm-item', 'p10')
  t.render()
  await env.tick()
  assert.equal(env.requests.filter((r) => r.url.includes('recommend')).length, 3)
  assert.equal(similar.find('a').length, 3, 'replaced, not appended')

  // a click on a recommendation is tracked as Product Clicked
  similar.find('a')[0].click()
  await env.tick()
  const clicked = env.events().find((e) => e.event === 'Product Clicked')
  assert.deepEqual(clicked.properties, { product_id: 'p1', list_id: 'similar' })
})

test('render(): an empty or failed answer leaves the element as it is', async () => {
  for (const respond of [() => ({ status: 200, body: { items: [] } }), () => ({ status: 503, body: {} })]) {
    const env = makeEnv({ respond })
    const el = shelf({ 'data-ecrm-recommend': 'popular' })
    el.textContent = 'fallback'
    env.body.appendChild(el)
    const t = createTracker(env.w, 'https://collect.example/ecrm.js')
    t.load('wk')
    await env.tick()
    assert.equal(el.textContent, 'fallback')
  }
})

test('render runs on load and again on DOMContentLoaded for blocks parsed later', async () => {
  const env = makeEnv({ readyState: 'loading', respond: () => ({ status: 200, body: [] }) })
  env.body.appendChild(shelf({ 'data-ecrm-recommend': 'popular' }))
  const t = createTracker(env.w, 'https://collect.example/ecrm.js')
  t.load('wk')
  await drain()
  assert.equal(env.requests.length, 1)
  env.body.appendChild(shelf({ 'data-ecrm-recommend': 'trending' }))
  env.fireDoc('DOMContentLoaded')
  await drain()
  assert.deepEqual(env.requests.map((r) => new URL(r.url).searchParams.get('type')), ['popular', 'trending'])
})

test('user() returns the current ids', async () => {
  const { t } = loaded()
  t.identify('u1')
  const u = t.user()
  assert.equal(u.userId, 'u1')
  assert.match(u.anonymousId, /^[0-9a-f-]{36}$/)
})
