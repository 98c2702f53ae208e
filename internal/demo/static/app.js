// ecrm demo shop: a static shop instrumented with the ecrm tag (window.ecrm,
// see the snippet in each page). Products come from products.json; the cart,
// the signed-in customer and the last order live in localStorage. Every page
// element built from data uses textContent / setAttribute, never innerHTML.
'use strict'

;(function () {
  var CART = 'demo_cart'
  var USER = 'demo_user'
  var ORDER = 'demo_last_order'
  var ecrm = window.ecrm
  var catalog

  // --- helpers ---------------------------------------------------------------
  function $(sel) { return document.querySelector(sel) }
  function el(tag, attrs, text) {
    var e = document.createElement(tag)
    for (var k in attrs || {}) e.setAttribute(k, attrs[k])
    if (text != null) e.textContent = text
    return e
  }
  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback } catch (e) { return fallback }
  }
  function save(key, value) {
    try { value == null ? localStorage.removeItem(key) : localStorage.setItem(key, JSON.stringify(value)) } catch (e) {}
  }
  function money(n) { return n.toFixed(2) + ' €' }
  function param(name) { return new URLSearchParams(location.search).get(name) }
  function products() {
    if (!catalog) {
      catalog = fetch('products.json').then(function (r) { return r.json() })
    }
    return catalog
  }
  function byId(list) {
    var m = {}
    list.forEach(function (p) { m[p.id] = p })
    return m
  }
  function productUrl(p) { return new URL('product.html?id=' + encodeURIComponent(p.id), location.href).href }
  // A product as the Segment spec's e-commerce events carry it; the catalog data
  // (name, url, image, price, category) is how ecrm learns the items.
  function productProps(p, quantity, position) {
    var props = {
      product_id: p.id, sku: p.sku, name: p.name, category: p.category, price: p.price,
      currency: p.currency, quantity: quantity || 1, url: productUrl(p), image: p.image,
    }
    if (position) props.position = position
    return props
  }

  // --- cart ------------------------------------------------------------------
  function cart() { return load(CART, []) }
  function setCart(c) { save(CART, c); renderCount() }
  function addToCart(id, qty) {
    var c = cart()
    var line = c.filter(function (l) { return l.id === id })[0]
    if (line) line.quantity += qty
    else c.push({ id: id, quantity: qty })
    setCart(c)
  }
  function cartLines(all) {
    var m = byId(all)
    return cart().filter(function (l) { return m[l.id] }).map(function (l) {
      return { product: m[l.id], quantity: l.quantity }
    })
  }
  function cartProducts(lines) {
    return lines.map(function (l, i) { return productProps(l.product, l.quantity, i + 1) })
  }
  function total(lines) {
    return lines.reduce(function (s, l) { return s + l.product.price * l.quantity }, 0)
  }
  function renderCount() {
    var n = cart().reduce(function (s, l) { return s + l.quantity }, 0)
    var c = $('#cart-count')
    if (c) c.textContent = n
  }

  // --- header and footer ------------------------------------------------------
  function header() {
    var user = load(USER, null)
    var who = $('#who')
    if (!who) return
    who.textContent = ''
    if (user) {
      who.appendChild(el('span', { class: 'muted' }, 'Hi, ' + (user.name || user.email)))
      var out = el('button', { class: 'link', id: 'logout', type: 'button' }, 'Log out')
      out.addEventListener('click', logout)
      who.appendChild(out)
    } else {
      who.appendChild(el('a', { href: 'login.html', id: 'login-link' }, 'Log in'))
    }
    renderCount()
  }
  function logout() {
    ecrm.track('Signed Out')
    ecrm.reset() // a new anonymous visitor from now on
    save(USER, null)
    location.href = 'index.html'
  }
  function footer() {
    var f = $('#privacy')
    if (!f) return
    var ids = el('span', { class: 'muted' })
    var stop = el('button', { class: 'link', type: 'button', id: 'opt-out' }, 'Stop tracking me')
    var allow = el('button', { class: 'link', type: 'button', id: 'opt-in' }, 'Allow tracking')
    function showIds() {
      Promise.resolve(ecrm.user()).then(function (u) {
        ids.textContent = u ? 'visitor ' + u.anonymousId + (u.userId ? ' · user ' + u.userId : '') : ''
      })
    }
    stop.addEventListener('click', function () { ecrm.optOut(); showIds() })
    allow.addEventListener('click', function () { ecrm.optIn(); ecrm.page(); showIds() })
    f.appendChild(stop)
    f.appendChild(allow)
    f.appendChild(ids)
    showIds()
  }

  // --- product cards ------------------------------------------------------------
  function card(p, listId, position) {
    var a = el('a', { class: 'card', href: productUrl(p), 'data-id': p.id })
    a.appendChild(el('img', { src: p.image, alt: p.name }))
    a.appendChild(el('span', { class: 'name' }, p.name))
    a.appendChild(el('span', { class: 'price' }, p.price.toFixed(2)))
    a.addEventListener('click', function () {
      var props = productProps(p, 1, position)
      props.list_id = listId
      ecrm.productClicked(props)
    })
    return a
  }

  // --- pages --------------------------------------------------------------------
  function home(all) {
    var grid = $('#products')
    var tools = $('#categories')
    var cats = ['all'].concat(all.map(function (p) { return p.category }).filter(function (c, i, a) { return a.indexOf(c) === i }))
    var current = param('category') || 'all'
    var query = (param('q') || '').trim()

    cats.forEach(function (c) {
      var b = el('a', { class: 'chip' + (c === current && !query ? ' active' : ''), href: c === 'all' ? 'index.html' : 'index.html?category=' + encodeURIComponent(c) }, c)
      tools.appendChild(b)
    })
    $('#q').value = query

    var list = all.filter(function (p) {
      if (query) return (p.name + ' ' + p.category + ' ' + p.description).toLowerCase().indexOf(query.toLowerCase()) >= 0
      return current === 'all' || p.category === current
    })
    var listId = query ? 'search' : current
    $('#list-title').textContent = query ? 'Results for “' + query + '”' : current === 'all' ? 'All products' : current
    list.forEach(function (p, i) { grid.appendChild(card(p, listId, i + 1)) })
    if (!list.length) grid.appendChild(el('p', { class: 'muted' }, 'Nothing found.'))

    if (query) ecrm.productsSearched({ query: query, results: list.length })
    ecrm.productListViewed({
      list_id: listId,
      category: current === 'all' ? undefined : current,
      // without images: a long list must stay well under the tag's 32 kB event limit
      products: list.map(function (p, i) {
        var props = productProps(p, 1, i + 1)
        delete props.image
        return props
      }),
    })

    // The home banner: whatever campaign ecrm decides for this visitor.
    ecrm.decide('home_banner').then(banner)
  }

  // Accepts {content: {...}} or the content itself, and a few field spellings,
  // so that the demo works with the decide answer as the server shapes it.
  function banner(d) {
    var box = $('#banner')
    if (!box || !d) return
    var c = d.content || (d.campaign && d.campaign.content) || d
    var title = c.title || c.headline
    var text = c.text || c.body || c.message
    if (!title && !text) return
    var id = d.campaign_id || (d.campaign && (d.campaign.id || d.campaign)) || d.id
    box.textContent = ''
    if (c.image && /^(data:image\/|https?:|\/)/.test(c.image)) box.appendChild(el('img', { src: c.image, alt: '' }))
    var body = el('div')
    if (title) body.appendChild(el('h2', null, title))
    if (text) body.appendChild(el('p', null, text))
    box.appendChild(body)
    var href = c.url || c.link
    if (href && /^(https?:|\/|[\w.-]+\.html)/.test(href)) {
      var a = el('a', { href: href }, c.cta || 'Shop now')
      a.addEventListener('click', function () {
        ecrm.track('Promotion Clicked', { promotion_id: typeof id === 'string' ? id : undefined, name: title, creative: 'home_banner' })
      })
      box.appendChild(a)
    }
    box.classList.add('shown')
    ecrm.track('Promotion Viewed', { promotion_id: typeof id === 'string' ? id : undefined, name: title, creative: 'home_banner' })
  }

  function product(all) {
    var p = byId(all)[param('id')]
    var box = $('#product')
    if (!p) {
      box.textContent = 'Product not found.'
      return
    }
    document.title = p.name + ' — ecrm demo shop'
    box.textContent = ''
    box.appendChild(el('img', { src: p.image, alt: p.name }))
    var info = el('div')
    info.appendChild(el('p', { class: 'muted' }, p.category))
    info.appendChild(el('h1', null, p.name))
    info.appendChild(el('p', null, p.description))
    info.appendChild(el('p', { class: 'price' }, money(p.price)))
    var buy = el('div', { class: 'buy' })
    var qty = el('input', { type: 'number', min: '1', max: '20', value: '1', id: 'qty', 'aria-label': 'Quantity' })
    var add = el('button', { type: 'button', id: 'add-to-cart' }, 'Add to cart')
    var note = el('span', { class: 'notice', id: 'added' })
    add.addEventListener('click', function () {
      var n = Math.max(1, Math.min(20, parseInt(qty.value, 10) || 1))
      addToCart(p.id, n)
      ecrm.productAdded(productProps(p, n))
      note.textContent = 'Added to your cart.'
    })
    buy.appendChild(qty)
    buy.appendChild(add)
    buy.appendChild(note)
    info.appendChild(buy)
    box.appendChild(info)

    ecrm.productViewed(productProps(p))

    // Recommendation blocks for this product: set the item, then render.
    ;['similar', 'bought_together'].forEach(function (type) {
      var block = $('#recs-' + type)
      block.setAttribute('data-ecrm-item', p.id)
      block.setAttribute('data-ecrm-n', '4')
      block.setAttribute('data-ecrm-recommend', type)
    })
    ecrm.render()
  }

  function cartPage(all) {
    var lines = cartLines(all)
    var body = $('#cart-lines')
    var empty = $('#cart-empty')
    var full = $('#cart-full')
    function draw() {
      lines = cartLines(all)
      body.textContent = ''
      empty.hidden = lines.length > 0
      full.hidden = lines.length === 0
      lines.forEach(function (l) {
        var p = l.product
        var tr = el('tr', { 'data-id': p.id })
        var img = el('td')
        img.appendChild(el('img', { src: p.image, alt: '' }))
        tr.appendChild(img)
        var name = el('td')
        name.appendChild(el('a', { href: productUrl(p) }, p.name))
        tr.appendChild(name)
        tr.appendChild(el('td', { class: 'num' }, money(p.price)))
        var q = el('td', { class: 'num' })
        var minus = el('button', { type: 'button', class: 'secondary', 'aria-label': 'One less' }, '−')
        var plus = el('button', { type: 'button', class: 'secondary', 'aria-label': 'One more' }, '+')
        minus.addEventListener('click', function () { change(p, -1) })
        plus.addEventListener('click', function () { change(p, 1) })
        q.appendChild(minus)
        q.appendChild(el('span', null, ' ' + l.quantity + ' '))
        q.appendChild(plus)
        tr.appendChild(q)
        tr.appendChild(el('td', { class: 'num' }, money(p.price * l.quantity)))
        var rm = el('td')
        var rb = el('button', { type: 'button', class: 'link remove' }, 'Remove')
        rb.addEventListener('click', function () { change(p, -l.quantity) })
        rm.appendChild(rb)
        tr.appendChild(rm)
        body.appendChild(tr)
      })
      $('#cart-total').textContent = money(total(lines))
    }
    function change(p, delta) {
      var c = cart()
      var line = c.filter(function (x) { return x.id === p.id })[0]
      if (!line) return
      line.quantity += delta
      if (delta > 0) ecrm.productAdded(productProps(p, delta))
      else ecrm.productRemoved(productProps(p, -delta))
      setCart(c.filter(function (x) { return x.quantity > 0 }))
      draw()
    }
    draw()
    ecrm.cartViewed({ cart_id: cartId(), products: cartProducts(lines) })
    if (lines.length) {
      var block = $('#recs-cart')
      block.setAttribute('data-ecrm-item', lines[0].product.id)
      block.setAttribute('data-ecrm-recommend', 'bought_together')
      ecrm.render()
    }
  }

  function cartId() {
    var id = load('demo_cart_id', null)
    if (!id) {
      id = 'c' + Date.now().toString(36)
      save('demo_cart_id', id)
    }
    return id
  }

  function checkout(all) {
    var lines = cartLines(all)
    var form = $('#checkout-form')
    if (!lines.length) {
      form.hidden = true
      $('#checkout-empty').hidden = false
      return
    }
    var user = load(USER, null)
    if (user) {
      form.email.value = user.email || ''
      form.name.value = user.name || ''
    }
    var sum = $('#summary-lines')
    lines.forEach(function (l) {
      var row = el('div')
      row.appendChild(el('span', null, l.quantity + ' × ' + l.product.name))
      row.appendChild(el('span', null, money(l.product.price * l.quantity)))
      sum.appendChild(row)
    })
    var shipping = total(lines) >= 100 ? 0 : 4.9
    $('#summary-shipping').textContent = money(shipping)
    $('#summary-total').textContent = money(total(lines) + shipping)
    var order = {
      order_id: 'o' + Date.now().toString(36) + Math.random().toString(36).slice(2, 6),
      checkout_id: cartId(),
      revenue: Math.round(total(lines) * 100) / 100,
      shipping: shipping,
      total: Math.round((total(lines) + shipping) * 100) / 100,
      currency: 'EUR',
      products: cartProducts(lines),
    }
    ecrm.checkoutStarted({ checkout_id: order.checkout_id, value: order.total, revenue: order.revenue, currency: 'EUR', products: order.products })
    form.addEventListener('submit', function (ev) {
      ev.preventDefault()
      var email = form.email.value.trim()
      var name = form.name.value.trim()
      if (!email) return
      // A guest is identified by the email trait, without an account.
      if (user) ecrm.identify(user.id, { email: email, name: name })
      else ecrm.identify({ email: email, name: name })
      ecrm.orderCompleted(order)
      ecrm.flush()
      save(ORDER, { order: order, email: email })
      setCart([])
      save('demo_cart_id', null)
      location.href = 'order.html?id=' + encodeURIComponent(order.order_id)
    })
  }

  function orderPage() {
    var last = load(ORDER, null)
    var box = $('#order')
    if (!last || last.order.order_id !== param('id')) {
      box.appendChild(el('p', null, 'No such order.'))
      return
    }
    box.appendChild(el('p', null, 'Order ' + last.order.order_id + ' is confirmed; a receipt goes to ' + last.email + '.'))
    box.appendChild(el('p', { class: 'muted' }, last.order.products.length + ' products, ' + money(last.order.total) + ' paid.'))
  }

  function login() {
    var user = load(USER, null)
    var form = $('#login-form')
    var state = $('#login-state')
    if (user) {
      form.hidden = true
      state.hidden = false
      $('#login-name').textContent = user.name || user.email
      $('#login-logout').addEventListener('click', logout)
      return
    }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault()
      var email = form.email.value.trim().toLowerCase()
      var name = form.name.value.trim()
      if (!email) return
      // The demo's user id is derived from the email; a real shop uses its account id.
      var id = 'u-' + email.replace(/[^a-z0-9]+/g, '-')
      save(USER, { id: id, email: email, name: name })
      ecrm.identify(id, { email: email, name: name })
      ecrm.track('Signed In', { method: 'password' })
      ecrm.flush()
      location.href = param('next') || 'index.html'
    })
  }

  // --- start ----------------------------------------------------------------------
  header()
  footer()
  var page = document.body.getAttribute('data-page')
  var pages = { home: home, product: product, cart: cartPage, checkout: checkout, order: orderPage, login: login }
  if (pages[page]) {
    products().then(pages[page]).catch(function (e) {
      var m = $('main')
      if (m) m.appendChild(el('p', { class: 'muted' }, 'Could not load the catalog: ' + e.message))
    })
  }
})()
