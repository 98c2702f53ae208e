package profiler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/segment"
)

func track(anon, user, name string, props map[string]any) event.Event {
	return event.Event{Type: event.TypeTrack, Event: name, AnonymousID: anon, UserID: user, Properties: props}
}

// count returns how many distinct triggers (by id: a batch replayed after
// a failure publishes its triggers again, with the same ids) of typ
// concern profile pid (and segment seg, when given).
func count(ts []profiler.Trigger, typ, pid, seg string) int {
	ids := map[string]bool{}
	for _, t := range ts {
		if t.Type == typ && t.ProfileID == pid && (seg == "" || t.Segment == seg) {
			ids[t.ID] = true
		}
	}
	return len(ids)
}

// waitTriggers polls the triggers topic until ok accepts it.
func waitTriggers(tb testing.TB, h *harness, what string, ok func([]profiler.Trigger) bool) []profiler.Trigger {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ts := h.triggers(tb)
		if ok(ts) {
			return ts
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: never; triggers %+v", what, ts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSegmentsAndTriggers(t *testing.T) {
	h := mustHarness(t, 2)
	segs := new(segment.Registry)
	for _, s := range []segment.Segment{
		{ID: "customers", Expr: `orders > 0`},
		{ID: "shoe-fans", Expr: `interest["shoes"] > 0.5`},
		{ID: "big-cart", Expr: `cart_value >= 100`},
	} {
		if err := segs.Put(s); err != nil {
			t.Fatal(err)
		}
	}
	cfg := profiler.Config{Segments: segs, CartAbandonAfter: time.Second, TickInterval: 200 * time.Millisecond}
	m := h.startWith(t, "m", cfg)

	// A shopper looks at shoes, fills a cart and buys: segments entered,
	// the first purchase fires, and the paid cart is never "abandoned".
	h.send(t,
		track("a-buyer", "", "Product Viewed", map[string]any{"product_id": "s1", "category": "Shoes", "price": 120.0}),
		track("a-buyer", "", "Product Added", map[string]any{"product_id": "s1", "category": "Shoes", "price": 120.0, "quantity": 1}),
		track("a-buyer", "u-buyer", "Order Completed", map[string]any{"order_id": "o-1", "revenue": 120.0,
			"products": []any{map[string]any{"product_id": "s1", "price": 120.0, "quantity": 1}}}))
	s := h.settle(t, "buyer", func(s state) bool {
		p := s.byID("u:u-buyer")
		return p != nil && p.Orders.Count == 1 && slices.Contains(p.Segments, "customers")
	})
	buyer := s.byID("u:u-buyer")
	if !slices.Contains(buyer.Segments, "shoe-fans") || slices.Contains(buyer.Segments, "big-cart") {
		t.Errorf("segments = %v, want customers and shoe-fans, not big-cart (the cart was paid)", buyer.Segments)
	}
	ts := waitTriggers(t, h, "buyer triggers", func(ts []profiler.Trigger) bool {
		return count(ts, profiler.TriggerFirstPurchase, buyer.ID, "") == 1 &&
			count(ts, profiler.TriggerSegmentEntered, buyer.ID, "customers") == 1
	})

	// Another shopper leaves a big cart: big-cart entered, and after the
	// delay, cart.abandoned fires once.
	h.send(t, track("a-leaver", "", "Product Added", map[string]any{"product_id": "b1", "category": "Bags", "price": 150.0, "quantity": 1}))
	s = h.settle(t, "leaver", func(s state) bool {
		p := s.byID("a:a-leaver")
		return p != nil && slices.Contains(p.Segments, "big-cart")
	})
	leaver := s.byID("a:a-leaver")
	ts = waitTriggers(t, h, "cart abandoned", func(ts []profiler.Trigger) bool {
		return count(ts, profiler.TriggerCartAbandoned, leaver.ID, "") == 1
	})
	if n := count(ts, profiler.TriggerCartAbandoned, buyer.ID, ""); n != 0 {
		t.Errorf("cart.abandoned fired %d times for the buyer, whose cart was paid", n)
	}

	// A customer whose only order turns "at risk" in three seconds: the
	// member stops before, a member on a fresh store takes over, and the
	// timer fires all the same (it lives in the changelog).
	old := track("a-old", "u-old", "Order Completed", map[string]any{"order_id": "o-old", "revenue": 30.0})
	old.Timestamp = time.Now().Add(-profile.AtRiskFactor*profile.DefaultPurchaseGap + 3*time.Second)
	h.send(t, old)
	s = h.settle(t, "old customer", func(s state) bool { p := s.byID("u:u-old"); return p != nil && p.Orders.Count == 1 })
	oldID := s.byID("u:u-old").ID
	m.stop()
	if n := count(h.triggers(t), profiler.TriggerLapsing, oldID, ""); n != 0 {
		t.Fatalf("lapsing fired %d times before it was due", n)
	}
	h.startWith(t, "fresh", cfg)
	waitTriggers(t, h, "lapsing", func(ts []profiler.Trigger) bool {
		return count(ts, profiler.TriggerLapsing, oldID, "") == 1
	})

	// Leaving a segment: the buyer removes interest... a segment on the cart
	// empties: add then remove an item.
	h.send(t, track("a-swing", "", "Product Added", map[string]any{"product_id": "x", "price": 200.0, "quantity": 1}))
	h.settle(t, "swing in", func(s state) bool {
		p := s.byID("a:a-swing")
		return p != nil && slices.Contains(p.Segments, "big-cart")
	})
	h.send(t, track("a-swing", "", "Product Removed", map[string]any{"product_id": "x", "price": 200.0, "quantity": 1}))
	s = h.settle(t, "swing out", func(s state) bool {
		p := s.byID("a:a-swing")
		return p != nil && !slices.Contains(p.Segments, "big-cart")
	})
	waitTriggers(t, h, "left", func(ts []profiler.Trigger) bool {
		return count(ts, profiler.TriggerSegmentLeft, s.byID("a:a-swing").ID, "big-cart") == 1
	})
	// A trigger id names one trigger: copies (replays) agree on what fired.
	seen := map[string]profiler.Trigger{}
	for _, tr := range h.triggers(t) {
		if prev, ok := seen[tr.ID]; ok && (prev.Type != tr.Type || prev.ProfileID != tr.ProfileID || prev.Segment != tr.Segment) {
			t.Errorf("trigger id %s names two triggers: %+v and %+v", tr.ID, prev, tr)
		}
		seen[tr.ID] = tr
	}
}
