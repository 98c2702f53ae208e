// Fakes of the browser members the tracker uses: document (cookie jar,
// listeners, a tiny DOM), navigator (sendBeacon, DNT, GPC), location,
// history, localStorage, fetch and a controllable clock with timers.
// Not a test file itself: npm test runs test/*.test.js only.
import { createTracker } from '../src/tracker.js'

export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0)
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

// Lets every pending promise callback run.
export const drain = () => new Promise((r) => setImmediate(r))

/** A minimal DOM element: attributes, children, textContent, listeners. */
export class El {
  constructor(tag, attrs = {}) {
    this.tagName = tag.toUpperCase()
    this.attrs = { ...attrs }
    this.children = []
    this.listeners = {}
    this.text = ''
  }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null }
  setAttribute(k, v) { this.attrs[k] = String(v) }
  appendChild(c) { this.children.push(c); return c }
  get textContent() { return this.text + this.children.map((c) => c.textContent).join('') }
  set textContent(v) { this.text = String(v); this.children = [] }
  addEventListener(t, f) { (this.listeners[t] ||= []).push(f) }
  click() { (this.listeners.click || []).forEach((f) => f({})); if (this.onclick) this.onclick({}) }
  // Only the attribute-presence selectors the tracker uses: [data-x]
  querySelectorAll(sel) {
    const m = /^\[([\w-]+)\]$/.exec(sel)
    const out = []
    const walk = (e) => e.children.forEach((c) => { if (m && m[1] in c.attrs) out.push(c); walk(c) })
    walk(this)
    return out
  }
  find(tag) {
    const out = []
    const walk = (e) => e.children.forEach((c) => { if (c.tagName === tag.toUpperCase()) out.push(c); walk(c) })
    walk(this)
    return out
  }
}

function makeLocation(href) {
  const loc = {
    set(u) {
      const x = new URL(u, loc.href || undefined)
      Object.assign(loc, { href: x.href, pathname: x.pathname, search: x.search, hash: x.hash, origin: x.origin, protocol: x.protocol, host: x.host })
    },
  }
  loc.set(href)
  return loc
}

/**
 * makeEnv(options) builds a fake window. Options:
 *   url, referrer, title, storage (Map, share it to simulate the next page),
 *   jar (Map, the cookie jar, share it likewise), now, respond(req) -> {status, body} (may throw),
 *   beaconOk (default true), dnt, gpc, noStorage (localStorage getter throws),
 *   brokenCookies (document.cookie throws), noFetch
 */
export function makeEnv(o = {}) {
  const clock = { t: o.now ?? T0 }
  const timers = []
  let tid = 0
  const storage = o.storage || new Map()
  const jar = o.jar || new Map()
  const cookieWrites = []
  const storageWrites = []
  const requests = []
  const beacons = []
  const winListeners = {}
  const docListeners = {}
  const body = new El('body')
  const env = {
    clock, timers, storage, jar, cookieWrites, storageWrites, requests, beacons, body,
    respond: o.respond || (() => ({ status: 200, body: { accepted: 1, rejected: [] } })),
    beaconOk: o.beaconOk ?? true,
  }
  const location = makeLocation(o.url || 'https://shop.example/products/shoes?utm_source=news&utm_medium=email&utm_campaign=spring')
  const document = {
    referrer: o.referrer ?? 'https://search.example/?q=shoes',
    title: o.title ?? 'Shoes - Shop',
    readyState: o.readyState || 'complete',
    visibilityState: 'visible',
    get cookie() {
      if (o.brokenCookies) throw new Error('SecurityError')
      return [...jar].map(([k, v]) => k + '=' + v).join('; ')
    },
    set cookie(s) {
      if (o.brokenCookies) throw new Error('SecurityError')
      cookieWrites.push(s)
      const [kv, ...attrs] = s.split(';')
      const i = kv.indexOf('=')
      const k = kv.slice(0, i).trim()
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))
      if (gone) jar.delete(k)
      else jar.set(k, kv.slice(i + 1))
    },
    addEventListener(t, f) { (docListeners[t] ||= []).push(f) },
    querySelectorAll: (sel) => body.querySelectorAll(sel),
    createElement: (tag) => new El(tag),
    body,
  }
  const ls = {
    getItem: (k) => (storage.has(k) ? storage.get(k) : null),
    setItem: (k, v) => { storageWrites.push(k); storage.set(k, String(v)) },
    removeItem: (k) => { storage.delete(k) },
  }
  const w = {
    document,
    location,
    navigator: {
      userAgent: 'Mozilla/5.0 (Test) ecrm-test',
      language: 'en-GB',
      doNotTrack: o.dnt,
      globalPrivacyControl: o.gpc,
      sendBeacon(url, data) {
        beacons.push({ url, body: JSON.parse(data) })
        return env.beaconOk
      },
    },
    history: {
      pushState(s, t, u) { location.set(u) },
      replaceState(s, t, u) { location.set(u) },
    },
    get localStorage() {
      if (o.noStorage) throw new Error('SecurityError: storage disabled')
      return ls
    },
    fetch: o.noFetch ? undefined : function (url, opts) {
      const req = { url, opts, body: opts && opts.body ? JSON.parse(opts.body) : null }
      requests.push(req)
      return Promise.resolve().then(() => env.respond(req)).then((r) => ({
        status: r.status,
        ok: r.status >= 200 && r.status < 300,
        json: async () => (typeof r.body === 'string' ? JSON.parse(r.body) : r.body),
      }))
    },
    setTimeout(fn, ms) {
      const id = ++tid
      timers.push({ id, at: clock.t + (ms || 0), fn })
      return id
    },
    clearTimeout(id) {
      const i = timers.findIndex((t) => t.id === id)
      if (i >= 0) timers.splice(i, 1)
    },
    addEventListener(t, f) { (winListeners[t] ||= []).push(f) },
    Date: { now: () => clock.t },
  }
  env.w = w
  env.document = document
  env.location = location
  /** Advances the clock by ms, running due timers and every promise callback. */
  env.tick = async (ms = 0) => {
    const end = clock.t + ms
    await drain()
    for (;;) {
      timers.sort((a, b) => a.at - b.at || a.id - b.id)
      const t = timers[0]
      if (!t || t.at > end) break
      timers.shift()
      clock.t = Math.max(clock.t, t.at)
      t.fn()
      await drain()
    }
    clock.t = end
    await drain()
  }
  env.fire = (type) => (winListeners[type] || []).forEach((f) => f({ type }))
  env.fireDoc = (type) => (docListeners[type] || []).forEach((f) => f({ type }))
  env.hide = () => { document.visibilityState = 'hidden'; env.fireDoc('visibilitychange') }
  /** Every event posted to /v1/batch so far (fetch and beacon), in order. */
  env.events = () => requests.filter((r) => r.url.endsWith('/v1/batch')).flatMap((r) => r.body.batch)
  env.batches = () => requests.filter((r) => r.url.endsWith('/v1/batch'))
  env.stored = (k) => JSON.parse(storage.get('ecrm_' + k) ?? 'null')
  return env
}

/** A tracker on a fresh fake window, loaded with the given options. */
export function loaded(options = {}, envOptions = {}) {
  const env = makeEnv(envOptions)
  const t = createTracker(env.w, envOptions.src ?? 'https://collect.example/ecrm.js')
  if (options !== null) t.load(envOptions.key ?? 'wk_test', options)
  return { env, t }
}

/** The same fake browser (storage, cookies), on a new page: a new tracker. */
export function nextPage(prev, options = {}, envOptions = {}) {
  return loaded(options, { storage: prev.storage, jar: prev.jar, now: prev.clock.t, ...envOptions })
}
