// Funnel: visitor → engaged → identified → customer → repeat over a range
// of days, by first-touch channel and by weekly cohort.
import { h, api, fill, table, int, pct, money, day, field, errorBox, card } from './lib.js'
import { hbars } from './charts.js'

const LABELS = { visitor: 'Visitors', engaged: 'Engaged', identified: 'Identified', customer: 'Customers', repeat: 'Repeat customers' }
const state = { from: '', to: '', site: '' }

export async function render(root) {
  if (!state.to) {
    const now = new Date()
    state.to = day(now)
    state.from = day(new Date(now.getTime() - 89 * 86400e3))
  }
  const out = h('div', { id: 'funnel-out', 'aria-live': 'polite' })
  const form = h('form', { class: 'filters', id: 'funnel-form', onsubmit: (e) => { e.preventDefault(); load() } },
    field('From', { id: 'funnel-from', type: 'date', value: state.from, required: true }),
    field('To', { id: 'funnel-to', type: 'date', value: state.to, required: true }),
    field('Site', { id: 'funnel-site', type: 'text', value: state.site, placeholder: 'every site', maxlength: 64 }),
    h('button', { type: 'submit' }, 'Show'))
  fill(root, h('h1', null, 'Funnel'),
    h('p', { class: 'lead' }, 'People reaching each stage in the range (by the day they reached it), from their first-touch channel.'),
    form, out)

  async function load() {
    state.from = form.querySelector('#funnel-from').value
    state.to = form.querySelector('#funnel-to').value
    state.site = form.querySelector('#funnel-site').value.trim()
    const q = new URLSearchParams({ from: state.from, to: state.to })
    if (state.site) q.set('site', state.site)
    out.setAttribute('aria-busy', 'true')
    try {
      show(await api('/v1/console/funnel?' + q))
    } catch (e) {
      fill(out, errorBox(e))
    } finally {
      out.removeAttribute('aria-busy')
    }
  }

  function show(r) {
    const st = r.total.stages
    const bars = hbars(r.stages.map((k, i) => ({
      label: LABELS[k], value: st[k], note: i ? '(' + pct(r.total.steps[i - 1].rate) + ' of previous)' : '',
    })), { title: 'Funnel from ' + r.from + ' to ' + r.to })
    const stages = table({
      id: 'funnel-stages', caption: 'Stages, ' + r.from + ' to ' + r.to,
      head: ['Stage', { text: 'People', num: true }, { text: 'From previous stage', num: true }],
      rows: r.stages.map((k, i) => [LABELS[k],
        { text: int(st[k]), num: true, data: { stage: k, value: st[k] } },
        { text: i ? pct(r.total.steps[i - 1].rate) : '–', num: true, data: i ? { rate: r.total.steps[i - 1].rate } : undefined }]),
    })
    const summary = h('p', { class: 'kpis' },
      kpi('Visitor → customer', pct(r.total.conversion)), kpi('Orders', int(r.total.orders)), kpi('Revenue', money(r.total.revenue)))
    const groupTable = (rows, id, caption, first, label) => table({
      id, caption,
      head: [first, ...r.stages.map((k) => ({ text: LABELS[k], num: true })), { text: 'Visitor → customer', num: true },
        { text: 'Orders', num: true }, { text: 'Revenue', num: true }],
      rows: rows.map((row) => [label(row), ...r.stages.map((k) => ({ text: int(row.stages[k]), num: true, data: { stage: k, value: row.stages[k] } })),
        { text: pct(row.conversion), num: true }, { text: int(row.orders), num: true }, { text: money(row.revenue), num: true }]),
      empty: 'No one in this range.',
    })
    fill(out, summary,
      card('Stages', bars, stages),
      card('By first-touch channel', groupTable(r.channels, 'funnel-channels', 'Funnel by first-touch channel', 'Channel', (x) => x.key)),
      card('By weekly cohort', h('p', { class: 'hint' }, 'ISO weeks of the day people reached each stage.'),
        groupTable(r.cohorts, 'funnel-cohorts', 'Funnel by week', 'Week', (x) => x.key + ' (from ' + x.weekStart + ')')))
  }

  await load()
}

const kpi = (label, value) => h('span', { class: 'kpi' }, h('span', { class: 'kpi-label' }, label), h('strong', null, value))
export { kpi }
