// The console's shell: sign-in (the admin token, kept in sessionStorage and
// sent as a Bearer header), the hash router (#funnel, #value, #customers,
// #customers/<id>, #segments, #campaigns, #live) and the views' lifecycle.
import { token, api, whenUnauthorized, h, fill, errorBox } from './lib.js'
import * as funnel from './funnel.js'
import * as value from './value.js'
import * as customers from './customers.js'
import * as segments from './segments.js'
import * as campaigns from './campaigns.js'
import * as live from './live.js'

const views = { funnel, value, customers, segments, campaigns, live }
const $ = (id) => document.getElementById(id)
let cleanup = null
let seq = 0

function showLogin(message) {
  stop()
  $('nav').hidden = true
  $('logout').hidden = true
  fill($('view'))
  $('login').hidden = false
  $('login-error').textContent = message || ''
  $('token').value = ''
  $('token').focus()
}

function stop() {
  if (cleanup) { try { cleanup() } catch {} }
  cleanup = null
}

async function route() {
  if (!token.get()) return showLogin()
  $('login').hidden = true
  $('nav').hidden = false
  $('logout').hidden = false
  const [name, ...rest] = (location.hash.slice(1) || 'funnel').split('/')
  const view = views[name] ? name : 'funnel'
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  stop()
  const root = h('div', { class: 'view', id: 'view-' + view })
  fill($('view'), root)
  const mine = ++seq
  document.title = view[0].toUpperCase() + view.slice(1) + ' · ecrm console'
  try {
    const arg = rest.length ? decodeURIComponent(rest.join('/')) : ''
    const c = await views[view].render(root, arg, { alive: () => mine === seq })
    if (mine === seq) cleanup = c || null
    else if (c) c()
  } catch (e) {
    if (mine === seq && e.status !== 401) root.append(errorBox(e))
  }
}

whenUnauthorized(() => {
  token.clear()
  showLogin('The token was refused: sign in again.')
})

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const t = $('token').value.trim()
  if (!t) return
  token.set(t)
  try {
    await api('/v1/console/live?n=1')
  } catch (e) {
    token.clear()
    if (e.status !== 401) $('login-error').textContent = 'Could not sign in: ' + e.message
    return
  }
  $('token').value = ''
  route()
  $('main').focus()
})

$('logout').addEventListener('click', () => {
  token.clear()
  showLogin('Signed out.')
})

window.addEventListener('hashchange', route)
route()
