import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loaded, nextPage, UUID } from './helpers.js'

const MIN = 60000

test('the anonymous id is a v4 uuid kept in a 13-month SameSite=Lax cookie and localStorage', async () => {
  const { env, t } = loaded()
  t.page()
  await env.tick(1000)
  const [e] = env.events()
  assert.match(e.anonymousId, UUID)
  assert.equal(env.jar.get('ecrm_aid'), e.anonymousId)
  assert.equal(env.stored('aid'), e.anonymousId)
  const c = env.cookieWrites.at(-1).toLowerCase()
  assert.match(c, /^ecrm_aid=[0-9a-f-]{36};/)
  assert.ok(c.includes(';path=/'))
  assert.ok(c.includes(';max-age=34128000'), '395 days')
  assert.ok(c.includes(';samesite=lax'))
  assert.ok(c.includes(';secure'), 'Secure on https')
})

test('no Secure flag on plain http (local development)', async () => {
  const { env } = loaded({}, { url: 'http://localhost:8080/' })
  assert.ok(!env.cookieWrites.at(-1).includes('secure'))
})

test('the anonymous id is the same on the next page (cookie, else localStorage)', async () => {
  const first = loaded()
  first.t.page()
  await first.env.tick(1000)
  const aid = first.env.events()[0].anonymousId
  let next = nextPage(first.env)
  next.t.page()
  await next.env.tick(1000)
  assert.equal(next.env.events()[0].anonymousId, aid)
  first.env.jar.clear()
  next = nextPage(first.env)
  next.t.page()
  await next.env.tick(1000)
  assert.equal(next.env.events()[0].anonymousId, aid)
  assert.equal(first.env.jar.get('ecrm_aid'), aid, 'cookie restored')
})

test('messageIds are unique', async () => {
  const { env, t } = loaded({ flushAt: 1000, maxQueue: 1000 })
  for (let i = 0; i < 200; i++) t.track('E')
  env.fire('pagehide')
  const ids = env.beacons.flatMap((b) => b.body.batch.map((e) => e.messageId))
  assert.equal(ids.length, 200)
  assert.equal(new Set(ids).size, ids.length)
})

test('identify sets and persists the user id; later events carry it', async () => {
  const first = loaded()
  first.t.track('Before')
  first.t.identify('user-42', { email: 'jo@example.com', name: 'Jo' })
  first.t.track('After')
  await first.env.tick(1000)
  const [before, ident, after] = first.env.events()
  assert.equal(before.userId, undefined)
  assert.equal(ident.type, 'identify')
  assert.equal(ident.userId, 'user-42')
  assert.deepEqual(ident.traits, { email: 'jo@example.com', name: 'Jo' })
  assert.equal(after.userId, 'user-42')
  assert.equal(ident.anonymousId, before.anonymousId, 'identify links the anonymous id')
  const next = nextPage(first.env)
  next.t.page()
  await next.env.tick(1000)
  assert.equal(next.env.events()[0].userId, 'user-42')
  assert.equal(next.env.events()[0].anonymousId, before.anonymousId)
})

test('identify: numbers become strings; traits-only keeps the user id; placeholder ids are ignored', async () => {
  const { env, t } = loaded({ flushAt: 100 })
  t.identify(7)
  t.identify({ plan: 'gold' })
  for (const bad of [null, undefined, '', 'null', 'undefined', '0', 0, -1, 'anonymous', 'Anonymous']) t.identify(bad, { x: 1 })
  env.fire('pagehide')
  const evs = env.beacons[0].body.batch
  assert.equal(evs[0].userId, '7')
  assert.equal(evs[1].userId, '7')
  assert.deepEqual(evs[1].traits, { plan: 'gold' })
  assert.ok(evs.slice(2).every((e) => e.userId === '7' && e.anonymousId === evs[0].anonymousId))
})

test('identify with another user id starts a new anonymous id (no merge through a shared device)', async () => {
  const { env, t } = loaded({ flushAt: 100 })
  t.identify('alice')
  t.track('A')
  t.identify('bob')
  t.track('B')
  env.fire('pagehide')
  const [ia, a, ib, b] = env.beacons[0].body.batch
  assert.equal(ia.anonymousId, a.anonymousId)
  assert.notEqual(ib.anonymousId, ia.anonymousId)
  assert.equal(b.anonymousId, ib.anonymousId)
  assert.equal(b.userId, 'bob')
})

test('reset() on logout: new anonymous id, no user id, new session', async () => {
  const first = loaded({ flushAt: 100 })
  first.t.identify('alice')
  first.env.clock.t += 1000
  first.t.reset()
  first.t.track('After logout')
  first.env.fire('pagehide')
  const [ia, after] = first.env.beacons[0].body.batch
  assert.equal(after.userId, undefined)
  assert.notEqual(after.anonymousId, ia.anonymousId)
  assert.notEqual(after.context.sessionId, ia.context.sessionId)
  assert.equal(first.env.jar.get('ecrm_aid'), after.anonymousId)
  assert.equal(first.env.stored('uid'), null)
  const next = nextPage(first.env)
  next.t.page()
  next.env.fire('pagehide')
  assert.equal(next.env.beacons[0].body.batch[0].userId, undefined)
  assert.equal(next.env.beacons[0].body.batch[0].anonymousId, after.anonymousId)
})

test('alias sends previousId: given, else the user id, else the anonymous id', async () => {
  const { env, t } = loaded({ flushAt: 100 })
  t.alias('new-1')
  t.alias('new-2', 'old-2')
  t.identify('u')
  t.alias('new-3')
  env.fire('pagehide')
  const [a1, a2, , a3] = env.beacons[0].body.batch
  assert.equal(a1.type, 'alias')
  assert.equal(a1.userId, 'new-1')
  assert.equal(a1.previousId, a1.anonymousId)
  assert.equal(a2.previousId, 'old-2')
  assert.equal(a3.previousId, 'u')
})

test('sessions end after 30 minutes of inactivity and are shared across pages', async () => {
  const first = loaded({ flushAt: 1 })
  first.t.page()
  await first.env.tick(29 * MIN)
  first.t.track('Still here')
  await first.env.tick(1000)
  const [p, s] = first.env.events()
  assert.equal(p.context.sessionId, s.context.sessionId)
  assert.equal(typeof p.context.sessionId, 'number')

  const next = nextPage(first.env, { flushAt: 1 })
  await next.env.tick(29 * MIN)
  next.t.page()
  await next.env.tick()
  assert.equal(next.env.events()[0].context.sessionId, p.context.sessionId, 'activity extends the session')
  await next.env.tick(30 * MIN + 1)
  next.t.page()
  await next.env.tick()
  const late = next.env.events()[1]
  assert.notEqual(late.context.sessionId, p.context.sessionId)
  assert.equal(late.context.sessionId, next.env.clock.t)
})

test('UTM parameters are captured on landing and kept for the session', async () => {
  const first = loaded({ flushAt: 1 })
  first.t.page()
  await first.env.tick()
  const want = { source: 'news', medium: 'email', name: 'spring' }
  assert.deepEqual(first.env.events()[0].context.campaign, want)
  let next = nextPage(first.env, { flushAt: 1 }, { url: 'https://shop.example/cart' })
  next.t.page()
  await next.env.tick()
  assert.deepEqual(next.env.events()[0].context.campaign, want)
  next = nextPage(next.env, { flushAt: 1 }, { url: 'https://shop.example/x?utm_source=ads&utm_term=red%20shoes&utm_content=b' })
  next.t.page()
  await next.env.tick()
  assert.deepEqual(next.env.events()[0].context.campaign, { source: 'ads', term: 'red shoes', content: 'b' })
  // a new session without UTM has no campaign
  next = nextPage(next.env, { flushAt: 1 }, { url: 'https://shop.example/', now: next.env.clock.t + 31 * MIN })
  next.t.page()
  await next.env.tick()
  assert.equal(next.env.events()[0].context.campaign, undefined)
})
