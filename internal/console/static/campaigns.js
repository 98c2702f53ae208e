// Campaigns: the list, a form to create or edit one, and the uplift report
// against the holdout with its 95% interval.
import { h, api, fill, table, pct, money, field, errorBox, card, status, dl } from './lib.js'
import { interval } from './charts.js'

export async function render(root) {
  const list = h('div', { id: 'campaigns-list' })
  const report = h('div', { id: 'campaign-report', 'aria-live': 'polite' })
  const msg = h('p', { class: 'error', role: 'alert', id: 'camp-error' })
  const form = h('form', { id: 'camp-form', class: 'stack', onsubmit: (e) => { e.preventDefault(); save() } },
    h('div', { class: 'row' },
      field('Id', { id: 'camp-id', type: 'text', required: true, maxlength: 64, autocomplete: 'off', spellcheck: 'false' }),
      field('Name', { id: 'camp-name', type: 'text', maxlength: 200 })),
    h('div', { class: 'row' },
      field('Placement', { id: 'camp-placement', type: 'text', required: true, maxlength: 64, placeholder: 'home_banner' }),
      field('Priority', { id: 'camp-priority', type: 'number', step: 1, value: 0 })),
    field('Segment expression', { id: 'camp-segment', type: 'textarea', rows: 2, spellcheck: 'false' }, 'Empty: everyone.'),
    h('div', { class: 'row' },
      field('Holdout share', { id: 'camp-holdout', type: 'number', min: 0, max: 0.5, step: 0.01, value: 0.1 }, '0 to 0.5, kept from seeing it to measure uplift'),
      field('Frequency cap', { id: 'camp-cap', type: 'number', min: 0, step: 1, value: 0 }, '0: no cap')),
    h('div', { class: 'row' },
      field('Start (UTC)', { id: 'camp-start', type: 'datetime-local' }),
      field('End (UTC)', { id: 'camp-end', type: 'datetime-local' })),
    h('div', { class: 'row' },
      field('Title', { id: 'camp-title', type: 'text', maxlength: 200 }),
      field('Link', { id: 'camp-url', type: 'text', maxlength: 500, placeholder: '/demo/sale.html' })),
    field('Text', { id: 'camp-text', type: 'textarea', rows: 2 }),
    msg,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save campaign'), h('button', { type: 'reset', class: 'quiet' }, 'Clear')))
  fill(root, h('h1', null, 'Campaigns'), h('div', { class: 'cards wide-first' }, card('Campaigns', list), card('Create or edit', form)), report)

  const $ = (id) => form.querySelector('#' + id)
  const toLocal = (t) => (t && !t.startsWith('0001-')) ? t.slice(0, 16) : ''
  const fromLocal = (v) => v ? new Date(v + ':00Z').toISOString() : undefined

  function edit(c) {
    $('camp-id').value = c.id; $('camp-name').value = c.name || ''; $('camp-placement').value = c.placement
    $('camp-priority').value = c.priority || 0; $('camp-segment').value = c.segment || ''
    $('camp-holdout').value = c.holdout || 0; $('camp-cap').value = c.frequencyCap || 0
    $('camp-start').value = toLocal(c.start); $('camp-end').value = toLocal(c.end)
    const content = c.content || {}
    $('camp-title').value = content.title || ''; $('camp-url').value = content.url || ''; $('camp-text').value = content.text || ''
    $('camp-name').focus()
  }

  async function save() {
    msg.textContent = ''
    const id = $('camp-id').value.trim()
    const body = {
      name: $('camp-name').value.trim(), placement: $('camp-placement').value.trim(), segment: $('camp-segment').value.trim(),
      priority: Number($('camp-priority').value) || 0, holdout: Number($('camp-holdout').value) || 0,
      frequencyCap: Number($('camp-cap').value) || 0, start: fromLocal($('camp-start').value), end: fromLocal($('camp-end').value),
      content: Object.fromEntries([['title', $('camp-title').value.trim()], ['text', $('camp-text').value.trim()], ['url', $('camp-url').value.trim()]].filter(([, v]) => v)),
    }
    try {
      await api('/v1/campaigns/' + encodeURIComponent(id), { method: 'PUT', body })
      status('Campaign ' + id + ' saved.')
      await load()
    } catch (e) { msg.textContent = 'Not saved: ' + e.message }
  }

  async function remove(c) {
    if (!confirm('Delete campaign ' + c.id + '?')) return
    try {
      await api('/v1/campaigns/' + encodeURIComponent(c.id), { method: 'DELETE' })
      status('Campaign ' + c.id + ' deleted.')
      await load()
    } catch (e) { status(e.message, true) }
  }

  async function showReport(c) {
    try {
      const r = await api('/v1/campaigns/' + encodeURIComponent(c.id) + '/report')
      const rep = r.report
      const arm = (name, a) => [name, a.visitors, a.converted, { text: pct(a.conversionRate, 2), num: true }, a.orders,
        { text: money(a.revenue), num: true }, { text: money(a.revenuePerVisitor), num: true }]
      const enough = rep.treatment.visitors > 0 && rep.holdout.visitors > 0
      fill(report, card('Report: ' + (c.name || c.id),
        h('p', { class: 'hint' }, `Orders within ${r.attributionWindowDays} days of the first exposure count as conversions.`),
        table({
          id: 'campaign-arms', head: ['Group', { text: 'Visitors', num: true }, { text: 'Converted', num: true }, { text: 'Conversion', num: true },
            { text: 'Orders', num: true }, { text: 'Revenue', num: true }, { text: 'Revenue / visitor', num: true }],
          rows: [arm('Treatment', rep.treatment), arm('Holdout', rep.holdout)],
        }),
        enough ? [
          interval({ low: rep.upliftLow, high: rep.upliftHigh, value: rep.uplift, format: (x) => (x * 100).toFixed(2) + ' pt', title: 'Uplift in conversion with its 95% interval' }),
          dl([
            ['Uplift (conversion)', `${(rep.uplift * 100).toFixed(2)} points, 95% interval ${(rep.upliftLow * 100).toFixed(2)} to ${(rep.upliftHigh * 100).toFixed(2)}`],
            ['Relative uplift', pct(rep.relativeUplift)],
            ['Significant', rep.significant ? 'yes: the interval excludes zero' : 'not yet: the interval includes zero'],
            ['Revenue per visitor uplift', money(rep.revenuePerVisitorUplift)],
            ['Incremental revenue', money(rep.incrementalRevenue)],
          ], 'facts', 'campaign-uplift'),
        ] : h('p', { class: 'empty' }, 'Not enough exposures in both groups yet.')))
      report.scrollIntoView({ block: 'start' })
    } catch (e) { fill(report, errorBox(e)) }
  }

  async function load() {
    try {
      const { campaigns } = await api('/v1/campaigns')
      fill(list, table({
        id: 'campaigns-table', head: ['Campaign', 'Placement', 'Segment', { text: 'Priority', num: true }, { text: 'Holdout', num: true }, 'Actions'],
        rows: campaigns.map((c) => [h('span', null, h('strong', null, c.name || c.id), h('br'), h('code', null, c.id)), c.placement,
          { node: h('code', { class: 'expr' }, c.segment || 'everyone') }, c.priority || 0, { text: pct(c.holdout || 0, 0), num: true },
          { node: h('span', { class: 'actions' },
            h('button', { type: 'button', class: 'small', onclick: () => showReport(c) }, 'Report'),
            h('button', { type: 'button', class: 'small', onclick: () => edit(c) }, 'Edit'),
            h('button', { type: 'button', class: 'small quiet', onclick: () => remove(c) }, 'Delete')) }]),
        empty: 'No campaign yet: create one.',
      }))
    } catch (e) { fill(list, errorBox(e)) }
  }
  await load()
}

