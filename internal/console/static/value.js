// Value: the Pareto curve, the RFM grid, RFM segments, value tiers,
// lifecycle stages and the LTV histogram, each with its policy.
import { h, api, fill, table, int, pct, money, field, errorBox, card } from './lib.js'
import { curve, vbars } from './charts.js'
import { kpi } from './funnel.js'

const state = { site: '' }

export async function render(root) {
  const out = h('div', { id: 'value-out', 'aria-live': 'polite' })
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); load() } },
    field('Site', { id: 'value-site', type: 'text', value: state.site, placeholder: 'every site', maxlength: 64 }),
    h('button', { type: 'submit' }, 'Show'))
  fill(root, h('h1', null, 'Customer value'),
    h('p', { class: 'lead' }, 'Who brings the revenue, and the relationship each group calls for.'), form, out)

  async function load() {
    state.site = form.querySelector('#value-site').value.trim()
    out.setAttribute('aria-busy', 'true')
    try {
      show(await api('/v1/console/value' + (state.site ? '?site=' + encodeURIComponent(state.site) : '')))
    } catch (e) {
      fill(out, errorBox(e))
    } finally {
      out.removeAttribute('aria-busy')
    }
  }

  function show(r) {
    const top20 = r.pareto.find((p) => Math.abs(p.topShare - 0.2) < 1e-9)
    const kpis = h('p', { class: 'kpis' },
      kpi('Customers', int(r.customers)), kpi('Revenue (scanned)', money(r.revenue)), kpi('Mean LTV', money(r.ltvMean)),
      top20 ? kpi('Top 20% bring', pct(top20.revenueShare)) : null)
    const scanNote = h('p', { class: 'hint', id: 'value-scan' }, `Grid, tiers, lifecycle and LTV: ${r.scan.note} (${int(r.scan.profiles)} profiles, ${int(r.scan.customers)} customers` +
      `${r.scan.capped ? ', capped at ' + int(r.scan.limit) : ''}; cached up to 30 s).`)
    const pareto = r.pareto.length
      ? curve(r.pareto.map((p) => ({ x: p.topShare, y: p.revenueShare })), {
        title: 'Pareto curve: share of revenue by the top share of customers', xLabel: 'top customers by revenue', yLabel: 'share of revenue' })
      : h('p', { class: 'empty' }, 'No customers yet.')
    const paretoTable = table({
      id: 'value-pareto', caption: 'Pareto points', head: ['Top customers', { text: 'Share of revenue', num: true }],
      rows: r.pareto.map((p) => [pct(p.topShare, 0), { text: pct(p.revenueShare), num: true }]), empty: 'No customers yet.',
    })
    fill(out, kpis, scanNote,
      card('Pareto curve', h('div', { class: 'two' }, pareto, paretoTable)),
      card('RFM grid', h('p', { class: 'hint' }, 'Customers by recency score (rows, 5 = most recent) and frequency score (columns, 5 = most orders), scored against their site\'s quintiles; darker is more customers.'), grid(r.grid)),
      card('RFM segments', groups(r.segments, 'value-segments', 'Segment')),
      card('Value tiers', groups(r.tiers, 'value-tiers', 'Tier')),
      card('Lifecycle stages', groups(r.lifecycle, 'value-lifecycle', 'Stage', 'People')),
      card('Lifetime value', vbars(r.ltv.map((b) => ({ label: b.to ? `${short(b.from)}–${short(b.to)}` : `${short(b.from)}+`, value: b.count })),
        { title: 'Customers by lifetime value (historic + predicted over a year)' })))
  }

  await load()
}

const short = (n) => n >= 1000 ? (n / 1000) + 'k' : String(n)

function grid(g) {
  const max = Math.max(1, ...g.flat().map((c) => c.count))
  const head = h('tr', null, h('th', { scope: 'col' }, 'R \\ F'), [1, 2, 3, 4, 5].map((f) => h('th', { scope: 'col', class: 'center' }, 'F' + f)))
  const rows = g.map((row) => h('tr', null, h('th', { scope: 'row' }, 'R' + row[0].r), row.map((c) => {
    const td = h('td', { class: 'heat num', dataset: { r: c.r, f: c.f, count: c.count }, title: `R${c.r} F${c.f}: ${c.count} customers, ${money(c.revenue)}` },
      h('strong', null, int(c.count)), h('br'), h('span', { class: 'small' }, money(c.revenue)))
    const a = c.count / max
    td.style.backgroundColor = `rgba(37, 99, 235, ${(0.06 + 0.8 * a).toFixed(3)})`
    if (a > 0.5) td.classList.add('dark')
    return td
  })))
  return h('div', { class: 'table-wrap' }, h('table', { id: 'value-grid', class: 'grid' },
    h('caption', null, 'RFM grid: count and revenue'), h('thead', null, head), h('tbody', null, rows)))
}

function groups(list, id, first, who = 'Customers') {
  return table({
    id, head: [first, { text: who, num: true }, { text: 'Revenue', num: true }, 'Policy', 'What to do'],
    rows: list.map((g) => [g.name.replace('_', ' '), { text: int(g.count), num: true, data: { count: g.count } }, { text: money(g.revenue), num: true },
      { node: h('span', { class: 'tag tag-' + g.policy.action.replace(/\s+/g, '-') }, g.policy.action) }, g.policy.text]),
  })
}
