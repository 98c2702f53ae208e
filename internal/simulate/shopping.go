package simulate

import (
	"strings"
	"time"
)

// listed adds a Product List Viewed for a list page and chooses where the
// visitor goes from it, clicking a product of the list or not.
func (g *Generator) listed(s *session, listID, category string, ids []int) {
	props := map[string]any{"list_id": listID, "products": g.list(ids)}
	if category != "" {
		props["category"] = category
	}
	g.track(s, "Product List Viewed", props)
	g.browse(s, ids, listID, false)
}

// browse chooses the page after a product page, or after a list page
// showing list.
func (g *Generator) browse(s *session, list []int, listID string, onProduct bool) {
	r := g.rng
	if s.pages >= s.maxPages {
		s.next = pageEnd
		return
	}
	// A buyer goes to the cart once the budget is spent or time runs short.
	if s.intent != intentBrowse && len(s.d.cart) > 0 &&
		(s.intent == intentRecover || g.cartValue(s.d) >= s.budget || s.pages >= s.maxPages-2) {
		s.next = pageCart
		return
	}
	cart := 0.0
	if len(s.d.cart) > 0 {
		cart = 6 // a buyer under budget shops on; over it, goes to the cart above
	}
	click, similar := 65.0, 0.0
	if onProduct {
		click, similar = 0, 30
	} else if len(list) == 0 {
		click = 0
	}
	choices := newWeighted(
		w(pageProduct, click), w(-pageProduct, similar), w(pageCategory, 18), w(-pageCategory, 10),
		w(pageSearch, 8), w(pageHome, 5), w(pageCart, cart),
	)
	switch next := choices.pick(r); next {
	case pageProduct:
		// A click on the list: the earlier in it, the likelier.
		i := min(len(list)-1, int(r.ExpFloat64()*float64(len(list))/3))
		if listID == "all" {
			p := g.cat.pick(s.v.category(r), r)
			for j, id := range list {
				if id == p {
					i = j
				}
			}
		}
		s.prod = list[i]
		s.cat = g.cat.categoryOf(s.prod)
		g.wait(s, 2, 20)
		props := g.product(s.prod, 1, i+1, true)
		props["list_id"] = listID
		g.track(s, "Product Clicked", props)
		s.next = pageProduct
	case -pageProduct: // another product of the same category
		s.prod = g.cat.pick(s.cat, r)
		s.next = pageProduct
	case -pageCategory: // another category
		s.cat = s.v.category(r)
		s.next = pageCategory
	case pageSearch:
		s.query = g.query(s)
		s.next = pageSearch
	default:
		s.next = next
	}
}

// productPage adds a Product Viewed, maybe a Product Added, and chooses
// the next page.
func (g *Generator) productPage(s *session) {
	r := g.rng
	g.track(s, "Product Viewed", g.product(s.prod, 1, 0, true))
	add := 0.06
	switch {
	case s.intent == intentBuy && g.cartValue(s.d) < s.budget:
		add = 0.65
	case s.intent == intentRecover:
		add = 0.1
	}
	if r.Float64() < add {
		// Big budgets buy several of a kind as well as more kinds.
		price := g.cat.products[s.prod].Price
		qty := 1
		left := s.budget - g.cartValue(s.d)
		switch x := r.Float64(); {
		case left > 3*price && x < 0.5:
			qty = 1 + r.IntN(int(min(left/price, 10)))
		case x < 0.1:
			qty = 2
		}
		qty = max(1, min(20, qty))
		g.wait(s, 5, 60)
		g.track(s, "Product Added", g.product(s.prod, qty, 0, true))
		g.addToCart(s.d, s.prod, qty)
	}
	g.browse(s, nil, "", true)
}

func (g *Generator) addToCart(d *device, p, qty int) {
	if d.cartID == "" {
		d.cartID = "c" + g.hexID(5)
	}
	for i := range d.cart {
		if d.cart[i].p == p {
			d.cart[i].qty += qty
			return
		}
	}
	d.cart = append(d.cart, cartLine{p: p, qty: qty})
}

func (g *Generator) cartValue(d *device) float64 {
	sum := 0.0
	for _, l := range d.cart {
		sum += g.cat.products[l.p].Price * float64(l.qty)
	}
	return sum
}

// cartPage adds a Cart Viewed, maybe a Product Removed, and chooses
// between checkout, more shopping and leaving.
func (g *Generator) cartPage(s *session) {
	r := g.rng
	products, _ := g.cartProducts(s.d.cart)
	g.track(s, "Cart Viewed", map[string]any{"cart_id": s.d.cartID, "products": products})
	if len(s.d.cart) > 0 && r.Float64() < 0.15 {
		i := r.IntN(len(s.d.cart))
		l := s.d.cart[i]
		g.wait(s, 3, 30)
		g.track(s, "Product Removed", g.product(l.p, l.qty, 0, true))
		s.d.cart = append(s.d.cart[:i], s.d.cart[i+1:]...)
	}
	if len(s.d.cart) == 0 {
		s.next = pageHome
		if s.pages >= s.maxPages {
			s.next = pageEnd
		}
		return
	}
	checkout := map[int]float64{intentBrowse: 15, intentBuy: 85, intentRecover: 60}[s.intent]
	switch newWeighted(w(pageCheckout, checkout), w(pageProduct, 20), w(pageEnd, 12)).pick(r) {
	case pageCheckout:
		s.next = pageCheckout
		if s.v.registered && s.d.userID == "" && r.Float64() < 0.5 {
			s.next, s.afterLogin = pageLogin, pageCheckout
		}
	case pageProduct:
		s.prod = g.cat.pick(s.v.category(r), r)
		s.next = pageProduct
	default:
		s.next = pageEnd
	}
}

// checkoutPage adds a Checkout Started and then either the order (an
// identify and an Order Completed) or the abandoned checkout.
func (g *Generator) checkoutPage(s *session) {
	r := g.rng
	d, v := s.d, s.v
	if len(d.cart) == 0 {
		s.next = pageHome
		return
	}
	products, revenue := g.cartProducts(d.cart)
	shipping := 4.9
	if revenue >= 100 {
		shipping = 0
	}
	total := cents(revenue + shipping)
	cur := g.cat.currency
	g.track(s, "Checkout Started", map[string]any{"checkout_id": d.cartID, "value": total, "revenue": revenue, "currency": cur, "products": products})
	order := map[int]float64{intentBrowse: 0.3, intentBuy: 0.8, intentRecover: 0.55}[s.intent]
	if r.Float64() >= order {
		s.next = pageEnd // abandoned at checkout
		if r.Float64() < 0.3 {
			s.next = pageCart
		}
		return
	}
	s.t = s.t.Add(time.Duration(clamp(lognormal(r, 90, 0.5), 20, 900) * float64(time.Second)))
	signup := !v.registered && r.Float64() < 0.25
	if signup {
		v.registered = true
		g.stats.Registered++
	}
	if !v.subscriber && r.Float64() < 0.4 {
		v.subscriber = true
	}
	if v.registered && (signup || d.userID != "") {
		d.userID = v.userID
	}
	g.identify(s)
	if signup {
		g.track(s, "Signed Up", map[string]any{"method": "checkout"})
	}
	id := "o" + g.hexID(6)
	g.track(s, "Order Completed", map[string]any{
		"order_id": id, "checkout_id": d.cartID, "revenue": revenue, "shipping": shipping,
		"total": total, "currency": cur, "products": products,
	})
	g.stats.Orders++
	g.stats.Revenue = cents(g.stats.Revenue + revenue)
	if v.orders == 0 {
		g.stats.Customers++
	}
	v.orders++
	v.lastOrder = s.t
	d.cart, d.cartID = nil, ""
	s.orderID = id
	s.next = pageOrder
}

// leave ends the session; a logged-in visitor sometimes logs out, and the
// tag's reset() gives the device a new anonymous id.
func (g *Generator) leave(s *session) {
	if s.d.userID != "" && g.rng.Float64() < 0.12 {
		g.track(s, "Signed Out", nil)
		g.resetDevice(s.d)
	}
	s.ended = true
}

// query draws a search: a category, a word or name of a product the
// visitor likes, or something the shop does not have.
func (g *Generator) query(s *session) string {
	r := g.rng
	k := s.v.category(r)
	p := g.cat.products[g.cat.pick(k, r)]
	switch x := r.Float64(); {
	case x < 0.35:
		c := g.cat.categories[k]
		if r.Float64() < 0.5 {
			c = strings.TrimSuffix(c, "s")
		}
		return c
	case x < 0.75:
		words := strings.Fields(strings.ToLower(p.Name))
		return words[r.IntN(len(words))]
	case x < 0.9:
		return strings.ToLower(p.Name)
	}
	return searchMisses[r.IntN(len(searchMisses))]
}
