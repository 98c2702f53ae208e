// What every view shares: building elements (text nodes only: data is never
// parsed as HTML), the API client (the admin token as a Bearer header,
// never in a URL), number and date formats, tables.

const TOKEN_KEY = 'ecrm_console_token'

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
}

// Attributes h() may set from a value; anything else is refused, so that
// no data lands in an event handler, a style or a URL attribute by mistake.
const SAFE_ATTRS = new Set([
  'id', 'class', 'for', 'type', 'name', 'role', 'title', 'scope', 'colspan', 'rowspan', 'placeholder',
  'autocomplete', 'spellcheck', 'min', 'max', 'step', 'rows', 'cols', 'maxlength', 'pattern', 'tabindex',
  'aria-label', 'aria-live', 'aria-current', 'aria-describedby', 'aria-labelledby', 'aria-hidden', 'aria-busy',
  'hidden', 'required', 'disabled', 'readonly', 'checked', 'selected', 'open', 'datetime', 'lang', 'dir',
])

/**
 * h('tag', {attrs, onclick: fn, dataset: {...}, value, href}, ...children)
 * makes an element. Strings and numbers among the children become text
 * nodes; null, undefined and false are skipped; arrays are flattened.
 * href accepts only in-page links ("#...").
 */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag)
  setAttrs(el, attrs)
  append(el, kids)
  return el
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv)
    else if (k === 'value') el.value = String(v)
    else if (k === 'text') el.textContent = String(v)
    else if (k === 'href') {
      if (!String(v).startsWith('#')) throw new Error('only in-page links: ' + v)
      el.setAttribute('href', String(v))
    } else if (SAFE_ATTRS.has(k)) el.setAttribute(k, v === true ? '' : String(v))
    else throw new Error('attribute not allowed: ' + k)
  }
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue
    el.append(k instanceof Node ? k : document.createTextNode(String(k)))
  }
}

const SVG = 'http://www.w3.org/2000/svg'
const SVG_ATTRS = new Set([
  'viewBox', 'width', 'height', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'rx', 'd', 'points',
  'fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'text-anchor', 'dominant-baseline', 'class',
  'role', 'aria-label', 'aria-labelledby', 'aria-hidden', 'focusable', 'preserveAspectRatio', 'font-size', 'id',
])

/** s('rect', {x, y, ...}, ...children): an SVG element, text children as text. */
export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue
    if (!SVG_ATTRS.has(k)) throw new Error('svg attribute not allowed: ' + k)
    el.setAttribute(k, String(v))
  }
  append(el, kids)
  return el
}

/** Replaces the children of el. */
export function fill(el, ...kids) {
  el.replaceChildren()
  append(el, kids)
  return el
}

// --- the API ---------------------------------------------------------------

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status }
}

let onUnauthorized = () => {}
export function whenUnauthorized(fn) { onUnauthorized = fn }

/** Calls the API with the token; returns the parsed JSON (or the Response when raw). */
export async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Authorization: 'Bearer ' + token.get() }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  if (res.status === 401) {
    onUnauthorized()
    throw new APIError(401, 'your session has ended: sign in again')
  }
  if (!res.ok) {
    let msg = res.statusText
    try { msg = (await res.json()).error || msg } catch {}
    throw new APIError(res.status, msg)
  }
  if (raw) return res
  if (res.status === 204) return null
  return res.json()
}

/** Fetches path with the token and saves the answer as a file named name. */
export async function download(path, name) {
  const res = await api(path, { raw: true })
  const blob = await res.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return blob
}

// --- formats ------------------------------------------------------------------

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const numFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })
const moneyFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
export const int = (n) => intFmt.format(n || 0)
export const num = (n) => numFmt.format(n || 0)
export const money = (n) => moneyFmt.format(n || 0)
export const pct = (r, digits = 1) => (r === null || r === undefined || !isFinite(r)) ? '–' : (r * 100).toFixed(digits) + '%'
export function when(t) {
  if (!t || t.startsWith('0001-')) return '–'
  const d = new Date(t)
  return isNaN(d) ? String(t) : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
}
export const day = (d) => d.toISOString().slice(0, 10)

// --- pieces -------------------------------------------------------------------

/**
 * table({caption, head: ['a', {text, num: true}], rows: [[cell, ...]], id})
 * where a cell is a string, a number (right-aligned), a Node, or
 * {text | node, num, data: {...}, class}.
 */
export function table({ caption, head, rows, id, empty = 'Nothing yet.', cls }) {
  const thead = h('thead', null, h('tr', null, head.map((c) => {
    const o = typeof c === 'object' ? c : { text: c }
    return h('th', { scope: 'col', class: o.num ? 'num' : undefined }, o.text)
  })))
  const tbody = h('tbody', null, rows.length ? rows.map((r) => h('tr', null, r.map(cell))) :
    h('tr', null, h('td', { colspan: head.length, class: 'empty' }, empty)))
  return h('div', { class: 'table-wrap' }, h('table', { id, class: cls }, caption ? h('caption', null, caption) : null, thead, tbody))
}

function cell(c, i) {
  if (c instanceof Node) return h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : null, c)
  const o = (c !== null && typeof c === 'object') ? c : { text: c, num: typeof c === 'number' }
  const attrs = { class: [o.num ? 'num' : '', o.class || ''].join(' ').trim() || undefined, dataset: o.data }
  if (i === 0) attrs.scope = 'row'
  const content = o.node ?? (typeof o.text === 'number' ? num(o.text) : o.text)
  return h(i === 0 ? 'th' : 'td', attrs, content)
}

/** A definition list from [[term, value], ...]. */
export const dl = (pairs, cls, id) => h('dl', { class: cls || 'facts', id }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]))

/** A card: a titled section. */
export const card = (title, ...kids) => h('section', { class: 'card' }, h('h2', null, title), ...kids)

export function status(msg, isError) {
  const el = document.getElementById('status')
  el.textContent = msg || ''
  el.className = 'status' + (isError ? ' error' : '') + (msg ? ' show' : '')
  if (msg && !isError) setTimeout(() => { if (el.textContent === msg) status('') }, 3000)
}

/** An error box for a failed load. */
export const errorBox = (e) => h('p', { class: 'error', role: 'alert' }, e.message || String(e))

/** A labelled input: field('Label', {id, ...attrs}). */
export function field(label, attrs, hint) {
  const input = h(attrs.type === 'textarea' ? 'textarea' : (attrs.type === 'select' ? 'select' : 'input'),
    attrs.type === 'textarea' || attrs.type === 'select' ? { ...attrs, type: undefined } : attrs, ...(attrs.options || []))
  return h('div', { class: 'field' }, h('label', { for: attrs.id }, label), input,
    hint ? h('span', { class: 'hint', id: attrs.id + '-hint' }, hint) : null)
}

export const debounce = (fn, ms) => {
  let t
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms) }
}
