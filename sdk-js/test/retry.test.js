import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loaded, nextPage, makeEnv } from './helpers.js'
import { createTracker } from '../src/tracker.js'

const fail = (status) => () => ({ status, body: { error: 'x' } })
const offline = () => { throw new TypeError('Failed to fetch') }

// Runs the clock until the number of requests grows; returns the time waited.
async function untilNextRequest(env, limit = 200000) {
  const n = env.requests.length
  const start = env.clock.t
  while (env.requests.length === n) {
    if (env.clock.t - start > limit) throw new Error('no request within ' + limit + ' ms')
    await env.tick(10)
  }
  return env.clock.t - start
}

test('5xx is retried with exponential backoff and jitter, keeping messageIds', async () => {
  const { env, t } = loaded({ flushAt: 2 }, { respond: fail(503) })
  t.track('A')
  t.track('B')
  await env.tick()
  assert.equal(env.requests.length, 1)
  const ids = env.requests[0].body.batch.map((e) => e.messageId)

  const waits = []
  for (let i = 0; i < 6; i++) waits.push(await untilNextRequest(env))
  // attempt n waits between 500*2^n and 2*500*2^n ms, at most 60 s
  const bounds = [[1000, 2000], [2000, 4000], [4000, 8000], [8000, 16000], [16000, 32000], [30000, 60000]]
  waits.forEach((w, i) => {
    assert.ok(w >= bounds[i][0] && w <= bounds[i][1] + 10, `retry ${i + 1} waited ${w} ms, want ${bounds[i]}`)
  })
  for (const r of env.requests) assert.deepEqual(r.body.batch.map((e) => e.messageId), ids, 'same messageIds on every try')

  env.respond = () => ({ status: 200, body: { accepted: 2, rejected: [] } })
  await untilNextRequest(env)
  await env.tick()
  assert.deepEqual(env.stored('q'), [])
  const n = env.requests.length
  await env.tick(120000)
  assert.equal(env.requests.length, n, 'nothing more once delivered')
})

test('network errors (fetch rejects) are retried', async () => {
  const { env, t } = loaded({ flushAt: 1 }, { respond: offline })
  t.track('A')
  await env.tick()
  const w1 = await untilNextRequest(env)
  assert.ok(w1 >= 1000 && w1 <= 2010)
  env.respond = () => ({ status: 200, body: {} })
  await untilNextRequest(env)
  await env.tick()
  assert.equal(env.stored('q').length, 0)
  assert.equal(new Set(env.requests.map((r) => r.body.batch[0].messageId)).size, 1)
})

test('4xx is not retried: the batch is dropped', async () => {
  for (const status of [400, 401, 403, 413, 429]) {
    const { env, t } = loaded({ flushAt: 1 }, { respond: fail(status) })
    t.track('A')
    await env.tick(600000)
    assert.equal(env.requests.length, 1, `status ${status}`)
    assert.deepEqual(env.stored('q'), [])
  }
})

test('after a success the backoff resets', async () => {
  const { env, t } = loaded({ flushAt: 1 }, { respond: fail(500) })
  t.track('A')
  await env.tick()
  await untilNextRequest(env)
  await untilNextRequest(env)
  env.respond = () => ({ status: 200, body: {} })
  await untilNextRequest(env)
  await env.tick()
  env.respond = fail(502)
  t.track('B')
  await env.tick()
  const w = await untilNextRequest(env)
  assert.ok(w >= 1000 && w <= 2010, 'first retry delay again: ' + w)
})

test('new events do not cut a backoff short', async () => {
  const { env, t } = loaded({ flushAt: 1 }, { respond: fail(503) })
  t.track('A')
  await env.tick()
  assert.equal(env.requests.length, 1)
  t.track('B')
  t.track('C')
  await env.tick(999)
  assert.equal(env.requests.length, 1)
})

test('the queue is capped: the oldest events are dropped', async () => {
  const { env, t } = loaded({ flushAt: 1, maxQueue: 5 }, { respond: offline })
  for (let i = 0; i < 12; i++) t.track('E' + i)
  assert.deepEqual(env.stored('q').map((e) => e.event), ['E7', 'E8', 'E9', 'E10', 'E11'])
  env.respond = () => ({ status: 200, body: {} })
  await env.tick(60000)
  const last = env.batches().at(-1)
  assert.deepEqual(last.body.batch.map((e) => e.event), ['E7', 'E8', 'E9', 'E10', 'E11'])
})

test('undelivered events survive to the next page and keep their messageIds', async () => {
  const first = loaded({ flushAt: 1 }, { respond: offline })
  first.t.track('A')
  first.t.track('B')
  await first.env.tick()
  const stored = first.env.stored('q')
  assert.equal(stored.length, 2)
  const next = nextPage(first.env)
  await next.env.tick(0)
  assert.equal(next.env.batches().length, 1, 'sent as soon as the next page loads')
  assert.deepEqual(next.env.events().map((e) => e.messageId), stored.map((e) => e.messageId))
  await next.env.tick()
  assert.deepEqual(next.env.stored('q'), [])
})

test('a blocked collector leaves the page working', async () => {
  const { env, t } = loaded({ flushAt: 1 }, { respond: offline })
  assert.doesNotThrow(() => {
    t.page()
    t.track('A', { x: 1 })
    t.identify('u1', { email: 'a@b.c' })
    t.flush()
  })
  await env.tick(5000)
  // fetch missing altogether
  const env2 = makeEnv({ noFetch: true })
  const t2 = createTracker(env2.w, 'https://c.example/ecrm.js')
  assert.doesNotThrow(() => { t2.load('k', { flushAt: 1 }); t2.track('A') })
  await env2.tick(5000)
  assert.equal(await t2.recommend({ type: 'popular' }), null)
})

test('while the collector is failing, pagehide leaves the events for the next page', async () => {
  const first = loaded({ flushAt: 1 }, { respond: fail(503) })
  first.t.track('A')
  await first.env.tick()
  first.env.fire('pagehide')
  assert.equal(first.env.beacons.length, 0)
  assert.equal(first.env.stored('q').length, 1)
  const next = nextPage(first.env)
  await next.env.tick()
  assert.deepEqual(next.env.events().map((e) => e.event), ['A'])
  assert.deepEqual(next.env.stored('q'), [])
})
