package profiler_test

import (
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/stats"
)

func onSite(e event.Event, site string) event.Event {
	e.SiteID = site
	return e
}

// TestFunnelAndRFM checks the aggregates on the stats topic: each person
// reaches each stage once, even across devices that merge, and the RFM
// distribution holds each customer once.
func TestFunnelAndRFM(t *testing.T) {
	h := mustHarness(t, 3)
	h.start(t, "m")
	const site = "agg"
	order := func(anon, user, id string, revenue float64) event.Event {
		return onSite(track(anon, user, "Order Completed", map[string]any{"order_id": id, "revenue": revenue}), site)
	}
	// Three visitors; one views a product (engaged); two log in; one of
	// them buys twice (repeat) from two devices that merge.
	h.send(t,
		onSite(page("f-a1", ""), site), onSite(page("f-a2", ""), site), onSite(page("f-a3", ""), site),
		onSite(track("f-a1", "", "Product Viewed", map[string]any{"product_id": "p1"}), site),
		order("f-a1", "", "f-o1", 50), // an anonymous order
		onSite(identify("f-a1", "f-u1", nil), site),
		onSite(identify("f-a2", "f-u1", nil), site),
		order("f-a2", "f-u1", "f-o2", 70),
		onSite(identify("f-a3", "f-u3", nil), site),
	)
	h.settle(t, "profiles", func(s state) bool {
		p := s.byID("u:f-u1")
		return p != nil && p.Orders.Count == 2 && s.byID("a:f-a2") == p && s.byID("u:f-u3") != nil
	})
	day := time.Now().UTC().Format(time.DateOnly)
	var f stats.Funnel
	var r stats.RFM
	deadline := time.Now().Add(30 * time.Second)
	for {
		funnels, rfms := h.stats(t)
		f, r = stats.Funnel{}, rfms[stats.RFMID(site)]
		for id, v := range funnels {
			if s, d, _, ok := stats.ParseFunnelID(id); ok && s == site && d == day {
				f.Add(v)
			}
		}
		if f.Stages["repeat"] == 1 && r.Customers() == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Three people: f-u1 (two devices), f-u3, and nobody else: each stage
	// counts a person once, though f-a1 bought before it was known.
	want := map[string]int64{"visitor": 2, "engaged": 2, "identified": 2, "customer": 1, "repeat": 1}
	for stage, n := range want {
		if f.Stages[stage] != n {
			t.Errorf("stage %s = %d, want %d (stages %v)", stage, f.Stages[stage], n, f.Stages)
		}
	}
	if f.Orders != 2 || f.Revenue != 120 {
		t.Errorf("orders = %d revenue = %v, want 2 and 120", f.Orders, f.Revenue)
	}
	if r.Customers() != 1 || r.Frequency[2] != 1 {
		t.Errorf("RFM distribution = %+v, want one customer with 2 orders", r)
	}
}
