// Segments: the list with live member counts, a form to create or edit
// one with a live count of the expression as it is typed, and the CSV
// export of the members.
import { h, api, fill, table, int, field, errorBox, card, status, download, debounce } from './lib.js'

const EXAMPLES = [
  ['Big spenders', 'revenue > 200'],
  ['Repeat customers', 'orders >= 2'],
  ['At risk', 'lifecycle == "at_risk"'],
  ['Cart left', 'cart_items > 0 && minutes_since_cart_update > 60'],
  ['Loves a category', 'interest["shoes"] > 3'],
  ['Champions', 'rfm_segment == "Champions"'],
]

export async function render(root, _arg, { alive }) {
  const list = h('div', { id: 'segments-list', 'aria-live': 'polite' })
  const preview = h('p', { id: 'seg-preview', class: 'preview', 'aria-live': 'polite' }, 'Type an expression to count its members.')
  const form = h('form', { id: 'seg-form', class: 'stack', onsubmit: (e) => { e.preventDefault(); save() } },
    h('div', { class: 'row' },
      field('Id', { id: 'seg-id', type: 'text', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}', maxlength: 64, autocomplete: 'off', spellcheck: 'false' }, 'lower case letters, digits, - and _'),
      field('Name', { id: 'seg-name', type: 'text', maxlength: 200 })),
    field('Expression', { id: 'seg-expr', type: 'textarea', rows: 3, required: true, spellcheck: 'false', oninput: debounce(() => count(), 350) },
      'Over the profile\'s variables: orders, revenue, ltv, lifecycle, funnel_stage, rfm_segment, value_tier, interest["category"], channel, cart_value, days_since_last_order, traits, …'),
    h('p', { class: 'examples' }, 'Examples: ', EXAMPLES.map(([label, expr], i) => [i ? ' · ' : '',
      h('button', { type: 'button', class: 'link', onclick: () => { form.querySelector('#seg-expr').value = expr; count() } }, label)])),
    field('Description', { id: 'seg-description', type: 'text', maxlength: 500 }, 'What it is for and the policy it calls for.'),
    preview,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save segment'), h('button', { type: 'reset', class: 'quiet', onclick: () => setTimeout(count) }, 'Clear')))
  fill(root, h('h1', null, 'Segments'), h('div', { class: 'cards wide-first' }, card('Segments', list), card('Create or edit', form)))

  let countSeq = 0
  async function count() {
    const expr = form.querySelector('#seg-expr').value.trim()
    const mine = ++countSeq
    if (!expr) { fill(preview, 'Type an expression to count its members.'); preview.removeAttribute('data-count'); return }
    preview.setAttribute('aria-busy', 'true')
    try {
      const r = await api('/v1/console/segments/preview', { method: 'POST', body: { expr } })
      if (mine !== countSeq) return
      preview.dataset.count = r.count
      preview.className = 'preview ok'
      fill(preview, h('strong', null, int(r.count)), ' members now', ` (of ${int(r.scanned)} profiles${r.capped ? ', scan capped at ' + int(r.limit) : ''})`)
    } catch (e) {
      if (mine !== countSeq) return
      preview.removeAttribute('data-count')
      preview.className = 'preview bad'
      fill(preview, e.message)
    } finally {
      if (mine === countSeq) preview.removeAttribute('aria-busy')
    }
  }

  async function save() {
    const id = form.querySelector('#seg-id').value.trim()
    const body = {
      name: form.querySelector('#seg-name').value.trim(), expr: form.querySelector('#seg-expr').value.trim(),
      description: form.querySelector('#seg-description').value.trim(),
    }
    try {
      await api('/v1/segments/' + encodeURIComponent(id), { method: 'PUT', body })
      status('Segment ' + id + ' saved.')
      await load()
    } catch (e) {
      status('Not saved: ' + e.message, true)
    }
  }

  function edit(sg) {
    form.querySelector('#seg-id').value = sg.id
    form.querySelector('#seg-name').value = sg.name || ''
    form.querySelector('#seg-expr').value = sg.expr
    form.querySelector('#seg-description').value = sg.description || ''
    form.querySelector('#seg-name').focus()
    count()
  }

  async function remove(sg) {
    if (!confirm('Delete segment ' + sg.id + '?')) return
    try {
      await api('/v1/segments/' + encodeURIComponent(sg.id), { method: 'DELETE' })
      status('Segment ' + sg.id + ' deleted.')
      await load()
    } catch (e) { status(e.message, true) }
  }

  async function exportCSV(sg, btn) {
    btn.disabled = true
    try {
      const blob = await download('/v1/console/segments/' + encodeURIComponent(sg.id) + '/members.csv', 'segment-' + sg.id + '.csv')
      status('Exported ' + sg.id + ' (' + int(blob.size) + ' bytes).')
    } catch (e) { status('Export failed: ' + e.message, true) } finally { btn.disabled = false }
  }

  async function load() {
    try {
      const { segments } = await api('/v1/segments')
      const counts = new Map()
      fill(list, table({
        id: 'segments-table', caption: 'Segments and their members now',
        head: ['Segment', 'Expression', { text: 'Members', num: true }, 'Actions'],
        rows: segments.map((sg) => {
          const c = h('span', { class: 'count' }, '…')
          counts.set(sg.id, c)
          const csv = h('button', { type: 'button', class: 'small', onclick: () => exportCSV(sg, csv) }, 'Export CSV')
          return [h('span', { dataset: { segment: sg.id } }, h('strong', null, sg.name || sg.id), h('br'), h('code', null, sg.id)),
            { node: h('code', { class: 'expr' }, sg.expr) }, { node: c, num: true, data: { segmentCount: sg.id } },
            { node: h('span', { class: 'actions' }, h('button', { type: 'button', class: 'small', onclick: () => edit(sg) }, 'Edit'), csv,
              h('button', { type: 'button', class: 'small quiet', onclick: () => remove(sg) }, 'Delete')) }]
        }),
        empty: 'No segment yet: create one.',
      }))
      // One count at a time: each scans the profiles.
      for (const sg of segments) {
        if (!alive()) return
        const el = counts.get(sg.id)
        try {
          const r = await api('/v1/console/segments/' + encodeURIComponent(sg.id) + '/count')
          el.textContent = int(r.count)
          el.parentElement.dataset.count = r.count
        } catch (e) { el.textContent = '?'; el.title = e.message }
      }
    } catch (e) {
      fill(list, errorBox(e))
    }
  }
  await load()
}
