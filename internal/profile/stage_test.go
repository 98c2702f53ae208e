package profile

import (
	"fmt"
	"testing"

	"github.com/ecrm/ecrm/internal/event"
)

func TestLifecycle(t *testing.T) {
	every10 := []float64{0, 10, 20, 30, 40} // rhythm 10 days
	tests := []struct {
		name   string
		orders []float64 // days
		now    float64
		want   string
	}{
		{"prospect", nil, 0, LifecycleProspect},
		{"one order, just placed", []float64{0}, 1, LifecycleNew},
		{"one order, within twice the default rhythm", []float64{0}, 120, LifecycleNew},
		{"one order, past twice the default rhythm", []float64{0}, 121, LifecycleAtRisk},
		{"one order, past four times", []float64{0}, 241, LifecycleLapsed},
		{"regular, on rhythm", every10, 55, LifecycleActive},
		{"regular, at twice the rhythm", every10, 60, LifecycleActive},
		{"regular, past twice the rhythm", every10, 61, LifecycleAtRisk},
		{"regular, past four times the rhythm", every10, 81, LifecycleLapsed},
		{"rhythm floored", []float64{0, 0.5}, 15, LifecycleAtRisk}, // 2 × 7 days
		{"back after a lapse", []float64{0, 10, 20, 30, 40, 100}, 101, LifecycleReactivated},
		{"back after a lapse, then regular", []float64{0, 10, 20, 30, 40, 100, 110}, 111, LifecycleActive},
		{"back after a lapse, then at risk again", []float64{0, 10, 20, 30, 40, 100}, 141, LifecycleAtRisk}, // rhythm now 20 days
		{"a long gap short of a lapse", []float64{0, 10, 20, 30, 40, 75}, 76, LifecycleActive},
		{"one order back after a long time", []float64{0, 300}, 301, LifecycleReactivated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := customer(t, 10, tc.orders...)
			if got := p.Lifecycle(days(tc.now)); got != tc.want {
				t.Errorf("orders on days %v: Lifecycle(day %v) = %q, want %q (rhythm %v)", tc.orders, tc.now, got, tc.want, p.Orders.rhythm())
			}
		})
	}
}

func TestReactivationUndone(t *testing.T) {
	// An order that arrives late, in the gap, shows there was no lapse.
	p := customer(t, 10, 0, 10, 20, 30, 40, 100)
	if got := p.Lifecycle(days(101)); got != LifecycleReactivated {
		t.Fatalf("Lifecycle() = %q, want reactivated", got)
	}
	applyAll(t, p, eOrder("late", days(70), nil))
	if got := p.Lifecycle(days(101)); got != LifecycleActive {
		t.Errorf("Lifecycle() after a late order in the gap = %q, want active", got)
	}
}

func TestFunnel(t *testing.T) {
	p := New("p_1", "a:a1")
	step := func(want string, events ...*event.Event) {
		t.Helper()
		applyAll(t, p, events...)
		if got := p.FunnelStage(); got != want {
			t.Errorf("FunnelStage() = %q, want %q", got, want)
		}
		if p.Funnel != want && len(events) > 0 {
			t.Errorf("Funnel = %q, want %q recorded", p.Funnel, want)
		}
	}
	step(FunnelVisitor)
	step(FunnelVisitor, ePage(mins(0)), ePage(mins(1)), ePage(mins(2)), ePage(mins(3)))
	step(FunnelEngaged, ePage(mins(4)))
	p.AddID("e:" + fmt.Sprintf("%064d", 1))
	if p.Funnel != FunnelIdentified {
		t.Errorf("AddID(e:...): Funnel = %q, want identified", p.Funnel)
	}
	step(FunnelCustomer, eOrder("o1", mins(10), map[string]any{"revenue": 5.0}))
	step(FunnelRepeat, eOrder("o2", mins(20), map[string]any{"revenue": 5.0}))

	// Never back: a profile whose recorded stage is beyond its state.
	q := New("p_2", "a:a2")
	q.Funnel = FunnelCustomer
	applyAll(t, q, ePage(mins(0)))
	if got := q.FunnelStage(); got != FunnelCustomer || q.Funnel != FunnelCustomer {
		t.Errorf("FunnelStage() of a customer with fewer signals = %q (recorded %q), want customer", got, q.Funnel)
	}
	// And absorbing keeps the furthest.
	r := New("p_3", "a:a3")
	r.Absorb(q)
	if got := r.FunnelStage(); got != FunnelCustomer {
		t.Errorf("FunnelStage() after absorbing a customer = %q, want customer", got)
	}
}

func TestFunnelEngaged(t *testing.T) {
	tests := []struct {
		name   string
		events []*event.Event
		want   string
	}{
		{"one session of four pages", []*event.Event{ePage(mins(0)), ePage(mins(1)), ePage(mins(2)), ePage(mins(3))}, FunnelVisitor},
		{"two sessions", []*event.Event{ePage(mins(0)), ePage(mins(100))}, FunnelEngaged},
		{"a product view", []*event.Event{eTrack(EventProductViewed, mins(0), map[string]any{"product_id": "a"})}, FunnelEngaged},
		{"a cart", []*event.Event{eTrack(EventProductAdded, mins(0), map[string]any{"product_id": "a"})}, FunnelEngaged},
		{"a guest order", []*event.Event{eOrder("o1", mins(0), nil)}, FunnelCustomer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			applyAll(t, p, tc.events...)
			if got := p.FunnelStage(); got != tc.want {
				t.Errorf("FunnelStage() = %q, want %q", got, tc.want)
			}
		})
	}
	if got := New("p_1", "u:alice").FunnelStage(); got != FunnelIdentified {
		t.Errorf("New(u:alice).FunnelStage() = %q, want identified", got)
	}
	if FunnelRank(FunnelVisitor) != 0 || FunnelRank(FunnelRepeat) != 4 || FunnelRank("nope") != -1 {
		t.Errorf("FunnelRank() out of order")
	}
}
