// Live: the latest hits, newest first, refreshed every 2 seconds while the
// view is open. Everything in a hit came from a browser: it is shown as
// text only.
import { h, api, fill, table, when, errorBox } from './lib.js'

// clip shows a long value on one line, whole in its tooltip.
const clip = (v, cls) => h('span', { class: 'clip ' + (cls || ''), title: v || '' }, v || '')
const clock = (t) => h('span', { class: 'nowrap', title: t }, t && !t.startsWith('0001-') ? new Date(t).toISOString().slice(0, 19).replace('T', ' ') : when(t))

export async function render(root, _arg, { alive }) {
  const out = h('div', { id: 'live-out' })
  const pause = h('input', { type: 'checkbox', id: 'live-pause' })
  const stamp = h('span', { class: 'hint', id: 'live-stamp', 'aria-live': 'off' })
  fill(root, h('h1', null, 'Live'),
    h('p', { class: 'filters' }, h('label', { for: 'live-pause', class: 'inline' }, pause, ' Pause'), ' ', stamp), out)
  let timer = null
  let stopped = false

  async function tick() {
    if (stopped || !alive()) return
    if (!pause.checked) {
      try {
        const { hits } = await api('/v1/console/live?n=60')
        if (stopped) return
        fill(out, table({
          id: 'live-table', caption: 'The latest hits, newest first',
          head: ['Time', 'Type', 'Event', 'User', 'Anonymous id', 'Page', 'Site', 'Device'],
          rows: hits.map((x) => [clock(x.time), x.type, x.event || x.name || '', clip(x.userId), clip(x.anonymousId || x.visitorId),
            { node: clip(x.url, 'url') }, x.site || '', [x.device, x.browser, x.os].filter(Boolean).join(' · ') + (x.bot ? ' (bot)' : '')]),
          empty: 'No hit yet.',
        }))
        stamp.textContent = 'Updated ' + new Date().toLocaleTimeString()
      } catch (e) {
        if (e.status === 401) return
        fill(out, errorBox(e))
      }
    }
    if (!stopped) timer = setTimeout(tick, 2000)
  }
  await tick()
  return () => { stopped = true; clearTimeout(timer) }
}
