package profile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

func TestCart(t *testing.T) {
	add := func(m int, id string, price float64, qty int) *event.Event {
		return eTrack(EventProductAdded, mins(m), eProduct(id, "shoes", price, qty))
	}
	remove := func(m int, id string, qty int) *event.Event {
		props := map[string]any{"product_id": id}
		if qty > 0 {
			props["quantity"] = float64(qty)
		}
		return eTrack(EventProductRemoved, mins(m), props)
	}
	tests := []struct {
		name      string
		events    []*event.Event
		lines     string // "id×qty ..."
		value     float64
		items     int
		updatedAt int // minute; -1: never
	}{
		{"empty", nil, "", 0, 0, -1},
		{"one add", []*event.Event{add(0, "a", 10, 2)}, "a×2", 20, 2, 0},
		{"quantity defaults to one", []*event.Event{eTrack(EventProductAdded, mins(0), map[string]any{"product_id": "a", "price": 5.0})}, "a×1", 5, 1, 0},
		{"same product twice", []*event.Event{add(0, "a", 10, 1), add(1, "a", 12, 2)}, "a×3", 36, 3, 1},
		{"two products", []*event.Event{add(0, "a", 10, 1), add(1, "b", 5, 3)}, "a×1 b×3", 25, 4, 1},
		{"partial remove", []*event.Event{add(0, "a", 10, 3), remove(1, "a", 2)}, "a×1", 10, 1, 1},
		{"remove more than there is", []*event.Event{add(0, "a", 10, 1), remove(1, "a", 5)}, "", 0, 0, 1},
		{"remove without quantity takes the line", []*event.Event{add(0, "a", 10, 3), add(1, "b", 1, 1), remove(2, "a", 0)}, "b×1", 1, 1, 2},
		{"remove of a product not in the cart", []*event.Event{add(0, "a", 10, 1), remove(1, "z", 1)}, "a×1", 10, 1, 0},
		{"add without product id", []*event.Event{eTrack(EventProductAdded, mins(0), map[string]any{"price": 3.0})}, "", 0, 0, -1},
		{"numeric product id and string price", []*event.Event{eTrack(EventProductAdded, mins(0), map[string]any{"product_id": 42.0, "price": "9.5", "quantity": 2.0})}, "42×2", 19, 2, 0},
		{"cleared by an order", []*event.Event{add(0, "a", 10, 1), eOrder("o1", mins(5), map[string]any{"revenue": 10.0})}, "", 0, 0, 5},
		{"added after the order", []*event.Event{add(0, "a", 10, 1), eOrder("o1", mins(5), nil), add(6, "b", 2, 1)}, "b×1", 2, 1, 6},
		{"late add from before the order is ignored", []*event.Event{eOrder("o1", mins(5), nil), add(3, "a", 10, 1)}, "", 0, 0, 5},
		{"late order leaves a newer cart", []*event.Event{add(10, "a", 10, 1), eOrder("o1", mins(5), nil)}, "a×1", 10, 1, 10},
		{"cart viewed replaces the lines", []*event.Event{add(0, "a", 10, 1),
			eTrack(EventCartViewed, mins(1), map[string]any{"products": []any{eProduct("b", "", 4, 2), eProduct("c", "", 1, 1)}})}, "b×2 c×1", 9, 3, 1},
		{"cart viewed without products changes nothing", []*event.Event{add(0, "a", 10, 1), eTrack(EventCartViewed, mins(1), nil)}, "a×1", 10, 1, 0},
		{"snake case names", []*event.Event{eTrack("product_added", mins(0), eProduct("a", "", 2, 1))}, "a×1", 2, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			applyAll(t, p, tc.events...)
			c := p.Cart
			var lines []string
			for _, l := range c.Lines {
				lines = append(lines, fmt.Sprintf("%s×%d", l.ProductID, l.Quantity))
			}
			if got := fmt.Sprint(lines); got != fmt.Sprint(strings.Fields(tc.lines)) {
				t.Errorf("cart lines = %s, want [%s]", got, tc.lines)
			}
			if !near(c.Value, tc.value) || c.Items() != tc.items {
				t.Errorf("cart value, items = %v, %d; want %v, %d", c.Value, c.Items(), tc.value, tc.items)
			}
			want := time.Time{}
			if tc.updatedAt >= 0 {
				want = mins(tc.updatedAt)
			}
			if !c.UpdatedAt.Equal(want) {
				t.Errorf("cart updated at %v, want %v", c.UpdatedAt, want)
			}
		})
	}
}

func TestCartBounds(t *testing.T) {
	p := New("p_1", "a:a1")
	for i := range CartCap + 5 {
		applyAll(t, p, eTrack(EventProductAdded, mins(i), eProduct(fmt.Sprint("p", i), "", 1, 1)))
	}
	if len(p.Cart.Lines) != CartCap || p.Cart.Lines[0].ProductID != "p5" {
		t.Errorf("%d products added: %d lines from %q, want %d from p5", CartCap+5, len(p.Cart.Lines), p.Cart.Lines[0].ProductID, CartCap)
	}
	applyAll(t, p, eTrack(EventCheckoutStarted, mins(100), nil))
	if !p.Cart.CheckoutAt.Equal(mins(100)) || len(p.Cart.Lines) != CartCap {
		t.Errorf("Checkout Started: checkout at %v, %d lines; want %v, lines kept", p.Cart.CheckoutAt, len(p.Cart.Lines), mins(100))
	}
}

func TestOrderRevenue(t *testing.T) {
	tests := []struct {
		name     string
		props    map[string]any
		products []map[string]any
		want     float64
	}{
		{"revenue", map[string]any{"revenue": 25.0, "total": 30.0}, []map[string]any{eProduct("a", "", 100, 1)}, 25},
		{"total when no revenue", map[string]any{"total": 30.0}, []map[string]any{eProduct("a", "", 100, 1)}, 30},
		{"products when neither", nil, []map[string]any{eProduct("a", "", 10, 2), eProduct("b", "", 2.5, 1)}, 22.5},
		{"product quantity defaults to one", nil, []map[string]any{{"product_id": "a", "price": 7.0}}, 7},
		{"revenue as a string", map[string]any{"revenue": "12.50"}, nil, 12.5},
		{"unparsable revenue falls back", map[string]any{"revenue": "lots", "total": 3.0}, nil, 3},
		{"negative revenue", map[string]any{"revenue": -5.0}, nil, 0},
		{"zero revenue is revenue", map[string]any{"revenue": 0.0}, []map[string]any{eProduct("a", "", 10, 1)}, 0},
		{"nothing", nil, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			applyAll(t, p, eOrder("o1", days(0), tc.props, tc.products...))
			if p.Orders.Count != 1 || !near(p.Orders.Revenue, tc.want) {
				t.Errorf("Order Completed %v with %d products: %d orders, revenue %v; want 1, %v", tc.props, len(tc.products), p.Orders.Count, p.Orders.Revenue, tc.want)
			}
		})
	}
}

func TestOrders(t *testing.T) {
	p := New("p_1", "a:a1")
	applyAll(t, p,
		eOrder("o1", days(10), map[string]any{"revenue": 100.0, "currency": "EUR"}, eProduct("a", "", 100, 1)),
		eOrder("o1", days(10), map[string]any{"revenue": 100.0}), // a second send, new message id
		eOrder("o2", days(20), map[string]any{"revenue": 50.0, "currency": "eur"}, eProduct("b", "", 25, 2), eProduct("a", "", 0, 1)),
		eOrder("", days(30), map[string]any{"revenue": 10.0}),
		eOrder("", days(30), map[string]any{"revenue": 10.0}),                    // no id: counted
		eOrder("o0", days(0), map[string]any{"revenue": 1.0, "currency": "USD"}), // late
	)
	o := p.Orders
	if o.Count != 5 || !near(o.Revenue, 171) {
		t.Errorf("orders %d, revenue %v; want 5, 171", o.Count, o.Revenue)
	}
	if !o.First.Equal(days(0)) || !o.Last.Equal(days(30)) {
		t.Errorf("first, last order %v, %v; want %v, %v", o.First, o.Last, days(0), days(30))
	}
	if o.Currency != "eur" {
		t.Errorf("currency %q, want the latest order's, as given: %q", o.Currency, "eur")
	}
	if got := o.MeanGap(); got != 30*24*time.Hour/4 {
		t.Errorf("MeanGap() = %v, want 30 days / 4", got)
	}
	if want := []string{"b", "a"}; !slices.Equal(o.Bought, want) || !o.HasBought("a") || o.HasBought("z") {
		t.Errorf("products bought %v, want %v", o.Bought, want)
	}
	if !near(o.AverageValue(), 171.0/5) {
		t.Errorf("AverageValue() = %v, want %v", o.AverageValue(), 171.0/5)
	}
	for i := 1; i < len(o.Recent); i++ {
		if o.Recent[i].At.Before(o.Recent[i-1].At) {
			t.Errorf("recent orders out of order: %v", o.Recent)
		}
	}
}

func TestOrderBounds(t *testing.T) {
	p := New("p_1", "a:a1")
	for i := range OrderCap + 10 {
		applyAll(t, p, eOrder(fmt.Sprint("o", i), days(float64(i)), map[string]any{"revenue": 1.0},
			eProduct(fmt.Sprint("p", 4*i), "", 1, 1), eProduct(fmt.Sprint("p", 4*i+1), "", 1, 1),
			eProduct(fmt.Sprint("p", 4*i+2), "", 1, 1), eProduct(fmt.Sprint("p", 4*i+3), "", 1, 1)))
	}
	o := p.Orders
	if len(o.Recent) != OrderCap || o.Recent[0].ID != "o10" {
		t.Errorf("%d orders: %d remembered from %q, want %d from o10", OrderCap+10, len(o.Recent), o.Recent[0].ID, OrderCap)
	}
	if n := 4 * (OrderCap + 10); len(o.Bought) != BoughtCap || o.Bought[BoughtCap-1] != fmt.Sprint("p", n-1) || o.Bought[0] != fmt.Sprint("p", n-BoughtCap) {
		t.Errorf("%d products bought: %d kept, %q to %q; want %d, p%d to p%d", n, len(o.Bought), o.Bought[0], o.Bought[len(o.Bought)-1], BoughtCap, n-BoughtCap, n-1)
	}
	// A duplicate of a remembered order is still recognised.
	applyAll(t, p, eOrder(fmt.Sprint("o", OrderCap+9), days(1000), map[string]any{"revenue": 1.0}))
	if p.Orders.Count != OrderCap+10 {
		t.Errorf("a duplicate of the newest order counted: %d orders", p.Orders.Count)
	}
}
