// Customers: search by identifier, and the 360° view of one.
import { h, api, fill, table, int, num, money, pct, when, dl, card, field, errorBox } from './lib.js'

const link = (id, text) => h('a', { href: '#customers/' + encodeURIComponent(id) }, text || id)

export async function render(root, id) {
  if (id) return view360(root, id)
  const out = h('div', { id: 'customers-out', 'aria-live': 'polite' })
  const form = h('form', { class: 'filters', id: 'customers-form', onsubmit: (e) => { e.preventDefault(); search() } },
    field('Find a customer', { id: 'customers-q', type: 'search', required: true, placeholder: 'user id, email, u:…, a:…, e:…, p_…', maxlength: 256, autocomplete: 'off', spellcheck: 'false' }),
    h('button', { type: 'submit' }, 'Search'))
  fill(root, h('h1', null, 'Customers'), form, out)
  form.querySelector('input').focus()

  async function search() {
    const q = form.querySelector('#customers-q').value.trim()
    if (!q) return
    try {
      const r = await api('/v1/console/customers?q=' + encodeURIComponent(q))
      fill(out, table({
        id: 'customers-results', caption: 'Customers answering to “' + q + '”',
        head: ['Profile', 'Identifiers', 'Name', { text: 'Orders', num: true }, { text: 'Revenue', num: true }, 'Lifecycle', 'Funnel', 'Last seen'],
        rows: r.customers.map((c) => [link(c.id), c.ids.join(' '), c.name || '', c.orders, { text: money(c.revenue), num: true }, c.lifecycle, c.funnelStage, when(c.lastSeen)]),
        empty: 'No profile answers to that.',
      }))
    } catch (e) {
      fill(out, errorBox(e))
    }
  }
}

async function view360(root, id) {
  fill(root, h('p', null, h('a', { href: '#customers' }, '← Customers')), h('h1', null, 'Customer'), h('p', { class: 'hint' }, 'Loading…'))
  const v = await api('/v1/console/customers/' + encodeURIComponent(id))
  const name = typeof v.traits.name === 'string' ? v.traits.name : ''
  const a = v.activity
  const val = v.value
  const traits = Object.entries(v.traits).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])
  fill(root,
    h('p', null, h('a', { href: '#customers' }, '← Customers')),
    h('h1', { id: 'c360-title' }, name || v.id, h('span', { class: 'sub' }, ' ' + v.id)),
    h('div', { class: 'cards' },
      card('Identities', h('ul', { class: 'ids', id: 'c360-ids' }, v.identities.map((i) =>
        h('li', null, h('span', { class: 'tag' }, i.kind), ' ', h('code', null, i.kind === 'email' ? i.value.slice(0, 16) + '…' : i.value))))),
      card('Traits', traits.length ? dl(traits) : h('p', { class: 'empty' }, 'None.')),
      card('Value', dl([
        ['Lifecycle', val.lifecycle], ['Funnel stage', val.funnelStage], ['Value tier', val.tier || '–'],
        ['RFM', val.rfm.r ? `R${val.rfm.r} F${val.rfm.f} M${val.rfm.m} · ${val.rfm.segment}` : 'not scored'],
        ['LTV', money(val.ltv)], ['Historic value', money(val.historicValue)], ['Predicted (1 year)', money(val.predictedValue)],
        ['Still buying (probability)', pct(val.aliveProbability, 0)],
      ], 'facts', 'c360-value'),
      h('h3', null, 'Policy'),
      h('ul', { class: 'policies' }, val.policies.map((p) => h('li', null, h('span', { class: 'tag tag-' + p.policy.action.replace(/\s+/g, '-') }, p.policy.action), ' ', h('strong', null, p.name), ' — ', p.policy.text)))),
      card('Activity', dl([
        ['First seen', when(a.firstSeen)], ['Last seen', when(a.lastSeen)], ['Events', int(a.events)], ['Page views', int(a.pageViews)],
        ['Product views', int(a.productViews)], ['Sessions', int(a.sessions)],
        ['First touch', [a.firstTouch.channel, a.firstTouch.source, a.firstTouch.campaign].filter(Boolean).join(' · ') || '–'],
        ['Last touch', [a.lastTouch.channel, a.lastTouch.source, a.lastTouch.campaign].filter(Boolean).join(' · ') || '–'],
        ['Device', [a.device.type, a.device.browser, a.device.os].filter(Boolean).join(' · ') || '–'],
        ['Locale', a.locale || '–'], ['Site', a.site || '–'],
      ]))),
    card('Orders', h('p', { class: 'kpis' }, `${int(v.orders.count)} orders · ${money(v.orders.revenue)} ${v.orders.currency || ''} · average ${money(v.orders.aov)}` +
      (v.orders.meanGapDays ? ` · one every ${num(v.orders.meanGapDays)} days` : '')),
    table({
      id: 'c360-orders', caption: 'Latest orders', head: ['Order', 'When', { text: 'Revenue', num: true }],
      rows: v.orders.recent.map((o) => [o.id || '(no id)', when(o.at), { text: money(o.revenue), num: true }]), empty: 'No orders.',
    }),
    v.orders.bought.length ? h('p', null, 'Bought: ', v.orders.bought.map((b, i) => [i ? ', ' : '', b.name || b.id])) : null),
    card('Cart', v.cart.lines && v.cart.lines.length ? table({
      id: 'c360-cart', head: ['Product', { text: 'Qty', num: true }, { text: 'Price', num: true }],
      rows: v.cart.lines.map((l) => [l.name || l.productId, l.quantity, { text: money(l.price), num: true }]),
    }) : h('p', { class: 'empty' }, 'Empty.')),
    h('div', { class: 'cards' },
      card('Interests', h('h3', null, 'Categories'), bars(v.interests.categories.map((c) => ({ label: c.key, score: c.score }))),
        h('h3', null, 'Products'), bars(v.interests.products.map((p) => ({ label: p.name || p.id, score: p.score })))),
      card('Segments', v.segments.length ? h('ul', { id: 'c360-segments' }, v.segments.map((sg) => h('li', null, h('strong', null, sg.name || sg.id), ' ', h('code', null, sg.id))))
        : h('p', { class: 'empty' }, 'In no segment.')),
      card('Recommended now', v.recommendations.length ? h('ol', { id: 'c360-recs' }, v.recommendations.map((r) =>
        h('li', null, r.name || r.id, r.price ? ' · ' + money(r.price) : '', h('span', { class: 'sub' }, ' ' + r.reason))))
        : h('p', { class: 'empty' }, 'Nothing to recommend yet.'))),
    card('Campaigns', table({
      id: 'c360-campaigns', head: ['Campaign', 'Group', { text: 'Seen', num: true }, 'First', 'Converted', { text: 'Revenue', num: true }],
      rows: v.campaigns.map((c) => [c.name || c.id, c.group, c.count, when(c.first), c.converted ? 'yes' : 'no', { text: money(c.revenue), num: true }]),
      empty: 'No campaign shown.',
    })),
    card('Timeline', h('ol', { class: 'timeline', id: 'c360-timeline' }, v.timeline.map((t) =>
      h('li', { class: 'tl-' + t.kind }, h('time', { datetime: t.at }, when(t.at)), ' ', h('span', { class: 'tag' }, t.kind), ' ', t.text)))))
}

function bars(items) {
  if (!items.length) return h('p', { class: 'empty' }, 'None.')
  const max = Math.max(...items.map((i) => i.score), 1e-9)
  return h('ul', { class: 'bars' }, items.map((i) => {
    const bar = h('span', { class: 'bar', 'aria-hidden': 'true' })
    bar.style.width = Math.max(2, 100 * i.score / max).toFixed(1) + '%'
    return h('li', null, h('span', { class: 'bar-label' }, i.label), h('span', { class: 'bar-track' }, bar), h('span', { class: 'bar-val' }, num(i.score)))
  }))
}
