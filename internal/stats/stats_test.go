package stats

import (
	"math"
	"testing"
	"time"
)

func TestFunnelReachAndRetract(t *testing.T) {
	var f Funnel
	if got := f.Reach("", "identified"); len(got) != 3 {
		t.Fatalf("Reach(\"\", identified) counted %v, want visitor, engaged, identified", got)
	}
	f.Reach("identified", "repeat")
	f.Reach("repeat", "customer") // never back
	want := map[string]int64{"visitor": 1, "engaged": 1, "identified": 1, "customer": 1, "repeat": 1}
	for s, n := range want {
		if f.Stages[s] != n {
			t.Errorf("stage %s = %d, want %d", s, f.Stages[s], n)
		}
	}
	if f.Transitions["identified>customer"] != 1 {
		t.Errorf("transitions = %v", f.Transitions)
	}
	f.Retract("repeat")
	if f.Stages["repeat"] != 0 || f.Transitions["customer>repeat"] != 0 {
		t.Errorf("after Retract(repeat): %v %v", f.Stages, f.Transitions)
	}
}

func TestRFMBreakpointsAndPareto(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var r RFM
	// 100 customers: revenue 10..1000, orders 1..5, last order 1..100 days ago.
	for i := 1; i <= 100; i++ {
		r.Change(Customer{LastOrder: now.Add(-time.Duration(i) * 24 * time.Hour), Orders: int64(1 + i%5), Revenue: float64(10 * i)}, +1)
	}
	if r.Customers() != 100 {
		t.Fatalf("Customers() = %d, want 100", r.Customers())
	}
	bp := r.Breakpoints(now)
	for i, want := range []float64{20, 40, 60, 80} {
		if math.Abs(bp.R[i]-want) > 1.5 {
			t.Errorf("R[%d] = %v, want about %v days", i, bp.R[i], want)
		}
		if math.Abs(bp.M[i]-want*10)/(want*10) > 0.06 {
			t.Errorf("M[%d] = %v, want within 6%% of %v", i, bp.M[i], want*10)
		}
	}
	// Removing a customer undoes adding it.
	c := Customer{LastOrder: now, Orders: 9, Revenue: 5000}
	r.Change(c, +1)
	r.Change(c, -1)
	if r.Customers() != 100 || r.Frequency[9] != 0 {
		t.Errorf("add then remove left %d customers, frequency %v", r.Customers(), r.Frequency)
	}
	p := r.Pareto()
	top20 := p[3]
	// Revenue 10..1000 uniform: the top 20% bring (810+...+1000)/50500 = 35.8%.
	if top20.TopShare != 0.2 || math.Abs(top20.RevenueShare-0.358) > 0.03 {
		t.Errorf("Pareto top 20%% = %+v, want about 35.8%% of revenue", top20)
	}
	if last := p[len(p)-1]; math.Abs(last.RevenueShare-1) > 1e-9 {
		t.Errorf("Pareto 100%% = %+v, want all of the revenue", last)
	}
}
