// A stand-in for the ecrm server, for browser tests of the tag and the demo
// shop without the Go server: like `ecrm run` it serves the demo shop at
// /demo/ and the built tag at /ecrm.js; /v1/batch records what it receives,
// /v1/recommend and /v1/decide answer from the catalog. Loopback only.
//
//   node test/browser/server.mjs [port]     (default 8099; prints the URL)
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const STATIC = join(here, '../../../internal/demo/static')
const TAG = join(here, '../../dist/ecrm.min.js')
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json' }

/**
 * Starts the fake server. Returns {url, batches, requests, close, fail(status|null)}.
 * batches: every /v1/batch body received (parsed); fail(503) makes /v1/batch answer 503.
 */
export async function startServer({ port = 0, host = '127.0.0.1' } = {}) {
  const batches = []
  const requests = []
  let failStatus = null
  const products = JSON.parse(await readFile(join(STATIC, 'products.json'), 'utf8'))

  const server = createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x')
    requests.push({ method: req.method, path: u.pathname, query: Object.fromEntries(u.searchParams) })
    const cors = { 'Access-Control-Allow-Origin': req.headers.origin || '*', 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' }
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...cors })
      res.end(JSON.stringify(body))
    }
    try {
      if (u.pathname === '/v1/batch' && req.method === 'POST') {
        let body = ''
        for await (const chunk of req) body += chunk
        if (failStatus) return json(failStatus, { error: 'failing on purpose' })
        const parsed = JSON.parse(body)
        batches.push({ contentType: req.headers['content-type'], cookie: req.headers.cookie || '', body: parsed })
        res.setHeader('Set-Cookie', 'ecrm_vid=server-visitor; Path=/; HttpOnly; SameSite=Lax; Max-Age=34128000')
        return json(200, { accepted: parsed.batch.length, rejected: [] })
      }
      if (u.pathname === '/v1/recommend') {
        const n = Number(u.searchParams.get('n')) || 4
        const item = u.searchParams.get('item')
        const base = products.find((p) => p.id === item)
        const pool = base ? products.filter((p) => p.category === base.category && p.id !== item) : products
        const items = pool.slice(0, n).map((p) => ({ id: p.id, name: p.name, url: '/demo/product.html?id=' + p.id, image: p.image, price: p.price, category: p.category }))
        return json(200, { type: u.searchParams.get('type'), items })
      }
      if (u.pathname === '/v1/decide') {
        return json(200, {
          placement: u.searchParams.get('placement'),
          campaign: 'spring-sale',
          content: { title: 'Spring sale', text: '20% off all shoes this week.', url: 'index.html?category=shoes', cta: 'See shoes' },
        })
      }
      if (u.pathname === '/v1/optout' || u.pathname === '/v1/optin') return json(200, { optedOut: u.pathname === '/v1/optout' })
      if (req.method !== 'GET') return json(405, { error: 'method not allowed' })
      if (u.pathname === '/' || u.pathname === '/demo') {
        res.writeHead(302, { Location: '/demo/' })
        return res.end()
      }
      let file
      if (u.pathname === '/ecrm.js') file = TAG
      else if (u.pathname.startsWith('/demo/')) {
        const rel = normalize(decodeURIComponent(u.pathname.slice(5)))
        file = join(STATIC, rel === '/' ? 'index.html' : rel)
        if (!file.startsWith(STATIC + '/')) return json(404, { error: 'not found' })
      } else return json(404, { error: 'not found' })
      const data = await readFile(file)
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' })
      res.end(data)
    } catch (e) {
      json(e.code === 'ENOENT' ? 404 : 500, { error: e.code === 'ENOENT' ? 'not found' : 'server error' })
    }
  })
  await new Promise((r) => server.listen(port, host, r))
  const url = `http://${host}:${server.address().port}`
  return {
    url,
    batches,
    requests,
    events: () => batches.flatMap((b) => b.body.batch),
    fail: (status) => { failStatus = status },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r) }),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startServer({ port: Number(process.argv[2]) || 8099 })
  console.log('demo shop with a fake collector at ' + s.url + '/demo/')
}
