// The snippet (taken from README.md, so the documentation is what is tested),
// install() replaying the stub's queue, and the built tag in a vm context.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import vm from 'node:vm'
import { makeEnv, El } from './helpers.js'
import { install } from '../src/install.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const block = /<!-- snippet:start -->\s*```html\n([\s\S]*?)```\s*<!-- snippet:end -->/.exec(readme)
assert.ok(block, 'README.md has the snippet between the markers')
export const SNIPPET = /<script>\n([\s\S]*?)<\/script>/.exec(block[1])[1]

// A fake page with a <head> that records appended scripts.
function page(env) {
  const head = new El('head')
  env.document.head = head
  return head
}
function runSnippet(env, code = SNIPPET) {
  // in a page, the global `ecrm` is window.ecrm
  const ctx = { window: env.w, document: env.document, get ecrm() { return env.w.ecrm } }
  vm.runInNewContext(code, ctx, { filename: 'snippet.js' })
}

test('the snippet defines a stub queue, loads the tag async, and the tag replays calls in order', async () => {
  const env = makeEnv({ respond: (req) => ({ status: 200, body: req.url.includes('recommend') ? { items: [{ id: 'p1' }] } : {} }) })
  const head = page(env)
  const code = SNIPPET
  runSnippet(env, code)
  const stub = env.w.ecrm
  assert.ok(Array.isArray(stub))
  assert.equal(head.children.length, 1)
  const script = head.children[0]
  assert.equal(script.tagName, 'SCRIPT')
  assert.equal(script.async, 1)
  assert.equal(script.src, 'https://collect.example.com/ecrm.js')

  stub.track('Clicked', { a: 1 })
  stub.identify('u1')
  const rec = stub.recommend({ type: 'popular' })
  assert.deepEqual(Array.from(stub, (c) => c[0]), ['load', 'page', 'track', 'identify', 'recommend'])

  // the snippet again: the stub and the script element are not duplicated;
  // only its own calls are queued again (its load() is ignored by the tag)
  runSnippet(env, code)
  assert.equal(env.w.ecrm, stub)
  assert.equal(head.children.length, 1)
  assert.deepEqual(Array.from(stub, (c) => c[0]), ['load', 'page', 'track', 'identify', 'recommend', 'load', 'page'])

  // the tag arrives
  const t = install(env.w, script)
  assert.notEqual(env.w.ecrm, stub)
  assert.equal(env.w.ecrm, t)
  assert.deepEqual(await rec, { items: [{ id: 'p1' }] })
  env.fire('pagehide')
  const evs = env.beacons.flatMap((b) => b.body.batch)
  assert.deepEqual(evs.map((e) => e.type + (e.event ? ':' + e.event : '')), ['page', 'track:Clicked', 'identify', 'page'])
  assert.equal(env.beacons[0].body.writeKey, 'YOUR_WRITE_KEY')
  assert.equal(env.beacons[0].url, 'https://collect.example.com/v1/batch')

  // a reference to the stub taken before the tag loaded reaches the tracker
  stub.track('Via Stub')
  env.fire('pagehide')
  assert.equal(env.beacons.at(-1).body.batch.at(-1).event, 'Via Stub')
  assert.equal(stub.length, 7, 'nothing queued in the stub any more')

  // the tag again: harmless, the same tracker stays
  assert.equal(install(env.w, script), t)
  assert.equal(env.w.ecrm, t)
  // the snippet after the tag: harmless, its load() is ignored
  runSnippet(env, code)
  assert.equal(env.w.ecrm, t)
})

test('if the tag cannot load, the stub promises resolve to null', async () => {
  const env = makeEnv()
  const head = page(env)
  runSnippet(env, SNIPPET)
  const p1 = env.w.ecrm.decide('home_banner')
  head.children[0].onerror()
  assert.equal(await p1, null)
  assert.equal(await env.w.ecrm.recommend({ type: 'popular' }), null)
})

test('the stub knows every public method of the tracker', async () => {
  const env = makeEnv()
  page(env)
  runSnippet(env, SNIPPET)
  const stubMethods = Object.keys(env.w.ecrm).filter((k) => typeof env.w.ecrm[k] === 'function').sort()
  const t = install(env.w, { src: 'https://c.example/ecrm.js' })
  const real = Object.keys(t).filter((k) => typeof t[k] === 'function').sort()
  assert.deepEqual(stubMethods, real)
})

const dist = new URL('../dist/ecrm.min.js', import.meta.url)
test('the built tag runs in a page, installs window.ecrm and replays the stub', { skip: !existsSync(dist) && 'no dist/' }, async () => {
  const tag = readFileSync(dist, 'utf8')
  const env = makeEnv()
  page(env)
  runSnippet(env, SNIPPET)
  env.w.ecrm.track('Before Load')
  env.document.currentScript = { src: 'https://collect.example.com/ecrm.js' }
  const ctx = { window: env.w, document: env.document, URL, URLSearchParams }
  vm.runInNewContext(tag, ctx)
  const t = env.w.ecrm
  assert.equal(t.__ecrm, 1)
  vm.runInNewContext(tag, ctx) // twice: harmless
  assert.equal(env.w.ecrm, t)
  t.track('After Load')
  await env.tick(1000)
  const evs = env.events()
  assert.deepEqual(JSON.parse(JSON.stringify(evs.map((e) => e.type + (e.event ? ':' + e.event : '')))), ['page', 'track:Before Load', 'track:After Load'])
  assert.equal(env.requests[0].url, 'https://collect.example.com/v1/batch')
})

const demo = new URL('../../internal/demo/static/', import.meta.url)
test('the demo shop pages carry this snippet', { skip: !existsSync(demo) && 'no demo' }, () => {
  const line = SNIPPET.split('\n')[0].replace('"https://collect.example.com/ecrm.js"', '"/ecrm.js"')
  for (const page of ['index.html', 'product.html', 'cart.html', 'checkout.html', 'order.html', 'login.html']) {
    const html = readFileSync(new URL(page, demo), 'utf8')
    assert.ok(html.includes(line), page + ' has the README snippet, loading /ecrm.js')
    assert.ok(html.includes('ecrm.load("demo"'), page + ' uses the write key demo')
  }
})

const esm = new URL('../dist/ecrm.esm.js', import.meta.url)
test('the ES module build exports createTracker, install and VERSION', { skip: !existsSync(esm) && 'no dist/' }, async () => {
  const m = await import(esm)
  assert.equal(typeof m.createTracker, 'function')
  assert.equal(typeof m.install, 'function')
  assert.equal(m.VERSION, JSON.parse(readFileSync(new URL('../package.json', import.meta.url))).version)
  const env = makeEnv()
  const t = m.createTracker(env.w)
  t.load('k', { flushAt: 1 })
  t.track('A')
  await env.tick()
  assert.equal(env.requests[0].url, 'https://shop.example/v1/batch', 'no script URL: the page origin')
})
