import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loaded, UUID } from './helpers.js'

test('events are batched until flushAt is reached, then posted at once', async () => {
  const { env, t } = loaded({ flushAt: 3 })
  t.track('A')
  t.track('B')
  await env.tick(0)
  assert.equal(env.requests.length, 0)
  t.track('C')
  await env.tick(0)
  assert.equal(env.requests.length, 1)
  const [req] = env.requests
  assert.equal(req.url, 'https://collect.example/v1/batch')
  assert.equal(req.opts.method, 'POST')
  assert.equal(req.opts.keepalive, true)
  assert.equal(req.opts.credentials, 'include')
  assert.equal(req.opts.headers, undefined, 'no custom headers: a string body is text/plain, no preflight')
  assert.equal(typeof req.opts.body, 'string')
  assert.equal(req.body.writeKey, 'wk_test')
  assert.equal(req.body.sentAt, new Date(env.clock.t).toISOString())
  assert.deepEqual(req.body.batch.map((e) => e.event), ['A', 'B', 'C'])
  for (const e of req.body.batch) {
    assert.equal(e.type, 'track')
    assert.match(e.messageId, UUID)
    assert.match(e.anonymousId, UUID)
  }
})

test('a partial batch is sent after flushInterval', async () => {
  const { env, t } = loaded({ flushInterval: 500 })
  t.track('Only')
  await env.tick(499)
  assert.equal(env.requests.length, 0)
  await env.tick(1)
  assert.equal(env.requests.length, 1)
  assert.deepEqual(env.events().map((e) => e.event), ['Only'])
})

test('default flushInterval is 1 s and default flushAt is 10', async () => {
  const { env, t } = loaded()
  for (let i = 0; i < 9; i++) t.track('E' + i)
  await env.tick(999)
  assert.equal(env.requests.length, 0)
  await env.tick(1)
  assert.equal(env.batches().length, 1)
  for (let i = 0; i < 10; i++) t.track('F' + i)
  await env.tick(0)
  assert.equal(env.batches().length, 2)
  assert.equal(env.batches()[1].body.batch.length, 10)
})

test('events sent are removed from the stored queue', async () => {
  const { env, t } = loaded()
  t.track('A')
  assert.equal(env.stored('q').length, 1)
  await env.tick(1000)
  assert.deepEqual(env.stored('q'), [])
})

test('host: the script origin by default, else the option, trailing slash dropped', async () => {
  let { env, t } = loaded({ flushAt: 1 }, { src: 'https://cdn.collector.example:8443/path/ecrm.js?v=1' })
  t.track('A')
  await env.tick()
  assert.equal(env.requests[0].url, 'https://cdn.collector.example:8443/v1/batch')
  ;({ env, t } = loaded({ flushAt: 1, host: 'https://c.example/base/' }))
  t.track('A')
  await env.tick()
  assert.equal(env.requests[0].url, 'https://c.example/base/v1/batch')
  ;({ env, t } = loaded({ flushAt: 1 }, { src: '', url: 'http://localhost:8080/x' }))
  t.track('A')
  await env.tick()
  assert.equal(env.requests[0].url, 'http://localhost:8080/v1/batch')
})

test('pagehide sends the queue with sendBeacon and empties it', async () => {
  const { env, t } = loaded()
  t.track('A')
  t.page()
  env.fire('pagehide')
  assert.equal(env.beacons.length, 1)
  assert.equal(env.beacons[0].url, 'https://collect.example/v1/batch')
  assert.equal(env.beacons[0].body.writeKey, 'wk_test')
  assert.deepEqual(env.beacons[0].body.batch.map((e) => e.type), ['track', 'page'])
  assert.deepEqual(env.stored('q'), [])
  await env.tick(5000)
  assert.equal(env.requests.length, 0, 'nothing left to send')
})

test('visibilitychange to hidden beacons too; a refused beacon keeps the events', async () => {
  const { env, t } = loaded()
  env.beaconOk = false
  t.track('A')
  env.hide()
  assert.equal(env.beacons.length, 1)
  assert.equal(env.stored('q').length, 1, 'kept for later')
  await env.tick(1000)
  assert.deepEqual(env.events().map((e) => e.event), ['A'])
})

test('batches stay under 64 kB (the keepalive / sendBeacon limit)', async () => {
  const { env, t } = loaded({ flushAt: 100, maxQueue: 100 })
  const big = 'x'.repeat(20000)
  for (let i = 0; i < 5; i++) t.track('Big', { blob: big, i })
  env.fire('pagehide')
  assert.ok(env.beacons.length >= 2)
  for (const b of env.beacons) assert.ok(JSON.stringify(b.body).length < 64 * 1024)
  assert.deepEqual(env.beacons.flatMap((b) => b.body.batch.map((e) => e.properties.i)), [0, 1, 2, 3, 4])
})

test('an event over 32 kB is dropped, the others go on', async () => {
  const { env, t } = loaded({ flushAt: 2 })
  t.track('Huge', { blob: 'x'.repeat(40000) })
  t.track('A')
  t.track('B')
  await env.tick()
  assert.deepEqual(env.events().map((e) => e.event), ['A', 'B'])
})

test('flush() sends at once', async () => {
  const { env, t } = loaded()
  t.track('A')
  t.flush()
  await env.tick()
  assert.equal(env.requests.length, 1)
})

test('sizes count UTF-8 bytes: multi-byte text makes smaller batches', async () => {
  const { env, t } = loaded({ flushAt: 100, maxQueue: 100 })
  const cjk = '漢'.repeat(3000) // 9 kB of UTF-8, 3000 UTF-16 units
  for (let i = 0; i < 12; i++) t.track('CJK', { text: cjk, i })
  env.fire('pagehide')
  assert.ok(env.beacons.length >= 2)
  for (const b of env.beacons) assert.ok(Buffer.byteLength(JSON.stringify(b.body)) < 64 * 1024)
  assert.equal(env.beacons.flatMap((b) => b.body.batch).length, 12)
})
