package profile

import (
	"slices"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// E-commerce events of the Segment spec that change a profile.
const (
	EventProductViewed     = "Product Viewed"
	EventProductClicked    = "Product Clicked"
	EventProductAdded      = "Product Added"
	EventProductRemoved    = "Product Removed"
	EventCartViewed        = "Cart Viewed"
	EventCheckoutStarted   = "Checkout Started"
	EventOrderCompleted    = "Order Completed"
	EventProductListViewed = "Product List Viewed"
	EventProductsSearched  = "Products Searched"
)

// Bounds of the commerce history a profile keeps.
const (
	// CartCap is the most lines a cart keeps; adding another drops the
	// oldest.
	CartCap = 20
	// OrderCap is how many recent orders a profile remembers to
	// de-duplicate them by order id.
	OrderCap = 20
	// BoughtCap is how many distinct products bought a profile remembers.
	BoughtCap = 100
	// maxQuantity bounds one line's quantity.
	maxQuantity = 10000
)

// CartLine is one product in the cart.
type CartLine struct {
	ProductID string  `json:"productId"`
	Name      string  `json:"name,omitempty"`
	Category  string  `json:"category,omitempty"`
	Price     float64 `json:"price,omitempty"`
	Quantity  int     `json:"quantity"`
}

// Cart is what the customer has in their cart, as the Product Added and
// Product Removed events tell it; a Cart Viewed or Checkout Started with
// products replaces it with them, and an Order Completed empties it.
//
// Events older than the last order (which emptied the cart) are ignored,
// and an Order Completed older than the cart's last change leaves it as
// it is: the cart has moved on since.
type Cart struct {
	Lines []CartLine `json:"lines,omitempty"`
	// Value is the sum of price × quantity over the lines.
	Value float64 `json:"value,omitempty"`
	// UpdatedAt is the time of the last change, emptying included.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// CheckoutAt is the time of the last Checkout Started.
	CheckoutAt time.Time `json:"checkoutAt,omitzero"`
}

// Items returns the number of items in the cart: the sum of quantities.
func (c *Cart) Items() int {
	n := 0
	for _, l := range c.Lines {
		n += l.Quantity
	}
	return n
}

func (c *Cart) total() {
	c.Value = 0
	for _, l := range c.Lines {
		c.Value += l.Price * float64(l.Quantity)
	}
	if len(c.Lines) == 0 {
		c.Lines = nil
	}
}

func (c *Cart) touched(t time.Time) { c.UpdatedAt = later(c.UpdatedAt, t) }

// Order is one order as remembered for de-duplication and rhythm.
type Order struct {
	ID      string    `json:"id,omitempty"`
	At      time.Time `json:"at"`
	Revenue float64   `json:"revenue"`
}

// Orders is the customer's purchase history.
//
// An order's revenue is its revenue property, else total, else the sum of
// its products' price × quantity; never negative. An Order Completed whose
// order_id is among the Recent orders is a duplicate and ignored; orders
// without an order_id are always counted.
type Orders struct {
	Count int64 `json:"count"`
	// Revenue sums the orders' revenue, in the currencies they came in.
	Revenue float64 `json:"revenue"`
	// Currency is the currency of the latest order that named one, as given.
	Currency string    `json:"currency,omitempty"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
	// Recent are the latest orders, oldest first, at most OrderCap.
	Recent []Order `json:"recent,omitempty"`
	// Bought are the ids of products bought, least recently bought first,
	// at most BoughtCap.
	Bought []string `json:"bought,omitempty"`
	// ReactivatedAt is the time of the last order placed after the
	// customer had lapsed (see [Profile.Lifecycle]).
	ReactivatedAt time.Time `json:"reactivatedAt,omitzero"`
}

// HasBought reports whether product id is among the products bought.
func (o *Orders) HasBought(id string) bool { return slices.Contains(o.Bought, id) }

// MeanGap returns the mean time between orders, (Last - First) / (Count -
// 1), or 0 with fewer than two orders.
func (o *Orders) MeanGap() time.Duration {
	if o.Count < 2 || !o.Last.After(o.First) {
		return 0
	}
	return o.Last.Sub(o.First) / time.Duration(o.Count-1)
}

// AverageValue returns the average revenue of an order, or 0.
func (o *Orders) AverageValue() float64 {
	if o.Count <= 0 {
		return 0
	}
	return o.Revenue / float64(o.Count)
}

func (o *Orders) has(id string) bool {
	return id != "" && slices.ContainsFunc(o.Recent, func(r Order) bool { return r.ID == id })
}

// add counts order r.
func (o *Orders) add(r Order) {
	if o.Count > 0 && !r.At.IsZero() && r.At.After(o.Last) && !o.Last.IsZero() && r.At.Sub(o.Last) > o.lapseAfter() {
		o.ReactivatedAt = r.At
	}
	o.Count++
	o.Revenue += r.Revenue
	if !r.At.IsZero() {
		if o.First.IsZero() || r.At.Before(o.First) {
			o.First = r.At
		}
		o.Last = later(o.Last, r.At)
	}
	i := slices.IndexFunc(o.Recent, func(x Order) bool { return x.At.After(r.At) })
	if i < 0 {
		i = len(o.Recent)
	}
	o.Recent = slices.Insert(o.Recent, i, r)
	if len(o.Recent) > OrderCap {
		o.Recent = slices.Delete(o.Recent, 0, len(o.Recent)-OrderCap)
	}
	if r.At.Before(o.ReactivatedAt) {
		o.checkReactivated()
	}
}

func (o *Orders) bought(id string) {
	if i := slices.Index(o.Bought, id); i >= 0 {
		o.Bought = slices.Delete(o.Bought, i, i+1)
	}
	o.Bought = append(o.Bought, id)
	if len(o.Bought) > BoughtCap {
		o.Bought = slices.Delete(o.Bought, 0, len(o.Bought)-BoughtCap)
	}
}

// checkReactivated forgets ReactivatedAt when the remembered order
// before it shows the customer had not lapsed (an order that arrived late,
// or one from an absorbed profile). The lapse is judged with the rhythm of
// the orders before ReactivatedAt.
func (o *Orders) checkReactivated() {
	if o.ReactivatedAt.IsZero() || len(o.Recent) == 0 || o.Recent[0].At.After(o.ReactivatedAt) {
		return // not set, or its order is forgotten
	}
	after := int64(0) // orders from ReactivatedAt on
	for _, r := range slices.Backward(o.Recent) {
		if !r.At.Before(o.ReactivatedAt) {
			after++
			continue
		}
		if o.ReactivatedAt.Sub(r.At) <= LapsedFactor*rhythmOf(o.First, r.At, o.Count-after) {
			o.ReactivatedAt = time.Time{}
		}
		return
	}
}

// absorb merges other's orders; an order both remember (by order id) is
// counted once.
func (o *Orders) absorb(other *Orders) {
	dupCount, dupRevenue := int64(0), 0.0
	for _, r := range other.Recent {
		if o.has(r.ID) {
			dupCount++
			dupRevenue += r.Revenue
			continue
		}
		o.Recent = append(o.Recent, r)
	}
	slices.SortStableFunc(o.Recent, func(a, b Order) int { return a.At.Compare(b.At) })
	if len(o.Recent) > OrderCap {
		o.Recent = slices.Delete(o.Recent, 0, len(o.Recent)-OrderCap)
	}
	o.Count = max(o.Count+other.Count-dupCount, int64(len(o.Recent)))
	o.Revenue = max(o.Revenue+other.Revenue-dupRevenue, 0)
	if other.Currency != "" && (o.Currency == "" || other.Last.After(o.Last)) {
		o.Currency = other.Currency
	}
	if !other.First.IsZero() && (o.First.IsZero() || other.First.Before(o.First)) {
		o.First = other.First
	}
	o.Last = later(o.Last, other.Last)
	for _, id := range other.Bought {
		if !slices.Contains(o.Bought, id) {
			o.Bought = append(o.Bought, id)
		}
	}
	if len(o.Bought) > BoughtCap {
		o.Bought = slices.Delete(o.Bought, 0, len(o.Bought)-BoughtCap)
	}
	o.ReactivatedAt = later(o.ReactivatedAt, other.ReactivatedAt)
	o.checkReactivated()
}

// commerce applies the e-commerce events of the Segment spec at time t.
func (p *Profile) commerce(e *event.Event, t time.Time) {
	if e.Type != event.TypeTrack {
		if e.Type == event.TypePage || e.Type == event.TypeScreen {
			p.CategoryInterest.add(category(e.Properties), WeightListViewed, t, CategoryInterestCap)
		}
		return
	}
	props, name := e.Properties, eventName(e.Event)
	switch name {
	case EventProductViewed:
		p.ProductViews++
		id, cat := productID(props), category(props)
		p.ProductInterest.add(id, WeightViewed, t, ProductInterestCap)
		p.CategoryInterest.add(cat, WeightViewed, t, CategoryInterestCap)
		if id != "" && !t.IsZero() {
			p.RecentItems = addRecentItem(p.RecentItems, id, t)
		}
	case EventProductClicked:
		p.ProductInterest.add(productID(props), WeightClicked, t, ProductInterestCap)
		p.CategoryInterest.add(category(props), WeightClicked, t, CategoryInterestCap)
	case EventProductListViewed:
		p.CategoryInterest.add(category(props), WeightListViewed, t, CategoryInterestCap)
	case EventProductAdded:
		p.ProductInterest.add(productID(props), WeightAdded, t, ProductInterestCap)
		p.CategoryInterest.add(category(props), WeightAdded, t, CategoryInterestCap)
		if p.cartOpen(t) {
			p.cartAdd(props, t)
		}
	case EventProductRemoved:
		if p.cartOpen(t) {
			p.cartRemove(props, t)
		}
	case EventCartViewed, EventCheckoutStarted:
		if p.cartOpen(t) {
			if lines := cartLines(props); len(lines) > 0 {
				p.Cart.Lines = lines
				p.Cart.total()
				p.Cart.touched(t)
			}
			if name == EventCheckoutStarted {
				p.Cart.CheckoutAt = later(p.Cart.CheckoutAt, t)
			}
		}
	case EventOrderCompleted:
		p.order(props, t)
	}
}

// specEvents are the e-commerce event names this package knows.
var specEvents = [...]string{EventProductViewed, EventProductClicked, EventProductAdded, EventProductRemoved,
	EventCartViewed, EventCheckoutStarted, EventOrderCompleted, EventProductListViewed, EventProductsSearched}

// eventName returns name as the spec spells it, accepting the snake case
// some libraries send ("order_completed").
func eventName(name string) string {
	for _, n := range specEvents {
		if n == name {
			return n
		}
	}
	for _, n := range specEvents {
		if len(n) == len(name) && snakeEqual(n, name) {
			return n
		}
	}
	return name
}

// snakeEqual reports whether s is spec, ignoring case and with '_' for ' '.
func snakeEqual(spec, s string) bool {
	for i := range len(spec) {
		a, b := spec[i], s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b && !(a == ' ' && b == '_') {
			return false
		}
	}
	return true
}

// cartOpen reports whether a cart event at t may change the cart: it is
// not older than the last order, which emptied the cart.
func (p *Profile) cartOpen(t time.Time) bool {
	return t.IsZero() || p.Orders.Last.IsZero() || !t.Before(p.Orders.Last)
}

// line returns the cart line a product object describes; its quantity is
// the object's, else dflt. It reports false when the object names no
// product.
func line(m map[string]any, dflt int) (CartLine, bool) {
	l := CartLine{ProductID: productID(m), Name: text(str(m, "name")), Category: category(m), Quantity: dflt}
	if l.ProductID == "" {
		return l, false
	}
	if price, ok := num(m, "price"); ok && price > 0 {
		l.Price = price
	}
	if q, ok := num(m, "quantity"); ok {
		l.Quantity = int(min(max(q, 0), maxQuantity))
	}
	return l, true
}

func (p *Profile) cartAdd(props map[string]any, t time.Time) {
	l, ok := line(props, 1)
	if !ok || l.Quantity <= 0 {
		return
	}
	c := &p.Cart
	if i := slices.IndexFunc(c.Lines, func(x CartLine) bool { return x.ProductID == l.ProductID }); i >= 0 {
		x := &c.Lines[i]
		x.Quantity = min(x.Quantity+l.Quantity, maxQuantity)
		if l.Price > 0 {
			x.Price = l.Price
		}
		if l.Name != "" {
			x.Name = l.Name
		}
		if l.Category != "" {
			x.Category = l.Category
		}
	} else {
		c.Lines = append(c.Lines, l)
		if len(c.Lines) > CartCap {
			c.Lines = slices.Delete(c.Lines, 0, len(c.Lines)-CartCap)
		}
	}
	c.total()
	c.touched(t)
}

// cartRemove takes the event's quantity of the product out of the cart,
// or the whole line when it names no quantity.
func (p *Profile) cartRemove(props map[string]any, t time.Time) {
	l, ok := line(props, -1)
	if !ok {
		return
	}
	c := &p.Cart
	i := slices.IndexFunc(c.Lines, func(x CartLine) bool { return x.ProductID == l.ProductID })
	if i < 0 {
		return
	}
	if l.Quantity < 0 || c.Lines[i].Quantity <= l.Quantity {
		c.Lines = slices.Delete(c.Lines, i, i+1)
	} else {
		c.Lines[i].Quantity -= l.Quantity
	}
	c.total()
	c.touched(t)
}

// cartLines returns the lines of the products[] of a cart or checkout
// event, one per product, at most CartCap.
func cartLines(props map[string]any) []CartLine {
	items, _ := props["products"].([]any)
	var lines []CartLine
	for _, it := range items {
		m, _ := it.(map[string]any)
		l, ok := line(m, 1)
		if !ok || l.Quantity <= 0 {
			continue
		}
		if i := slices.IndexFunc(lines, func(x CartLine) bool { return x.ProductID == l.ProductID }); i >= 0 {
			lines[i].Quantity = min(lines[i].Quantity+l.Quantity, maxQuantity)
			continue
		}
		if len(lines) < CartCap {
			lines = append(lines, l)
		}
	}
	return lines
}

// order applies an Order Completed at t.
func (p *Profile) order(props map[string]any, t time.Time) {
	id := boundedKey(str(props, "order_id"))
	if p.Orders.has(id) {
		return
	}
	items, _ := props["products"].([]any)
	revenue, ok := num(props, "revenue")
	if !ok {
		revenue, ok = num(props, "total")
	}
	sum := 0.0
	for _, it := range items {
		m, _ := it.(map[string]any)
		l, valid := line(m, 1)
		if !valid {
			continue
		}
		sum += l.Price * float64(l.Quantity)
		p.Orders.bought(l.ProductID)
		p.ProductInterest.add(l.ProductID, WeightBought, t, ProductInterestCap)
		p.CategoryInterest.add(l.Category, WeightBought, t, CategoryInterestCap)
	}
	if !ok {
		revenue = sum
	}
	p.Orders.add(Order{ID: id, At: t, Revenue: max(revenue, 0)})
	if c := text(str(props, "currency")); c != "" && !t.Before(p.Orders.Last) {
		p.Orders.Currency = c
	}
	if t.IsZero() || !t.Before(p.Cart.UpdatedAt) {
		p.Cart.Lines = nil
		p.Cart.total()
		p.Cart.touched(t)
	}
}

// absorbCart keeps the cart changed last; it is emptied when the merged
// orders include one placed after that change.
func (p *Profile) absorbCart(other *Profile) {
	if other.Cart.UpdatedAt.After(p.Cart.UpdatedAt) {
		p.Cart = other.Cart
		p.Cart.Lines = slices.Clone(other.Cart.Lines)
	}
	p.Cart.CheckoutAt = later(p.Cart.CheckoutAt, other.Cart.CheckoutAt)
	if len(p.Cart.Lines) > 0 && p.Orders.Last.After(p.Cart.UpdatedAt) {
		p.Cart.Lines = nil
		p.Cart.total()
		p.Cart.touched(p.Orders.Last)
	}
}
