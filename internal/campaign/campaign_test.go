package campaign

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func mustRegistry(tb testing.TB, cs ...Campaign) *Registry {
	tb.Helper()
	var r Registry
	for _, c := range cs {
		if err := r.Put(c); err != nil {
			tb.Fatalf("Put(%s) = %v", c.ID, err)
		}
	}
	return &r
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Campaign
		ok   bool
	}{
		{"ok", Campaign{ID: "c1", Placement: "home", Segment: "orders > 0", Holdout: 0.1}, true},
		{"no placement", Campaign{ID: "c1"}, false},
		{"bad id", Campaign{ID: "a b", Placement: "home"}, false},
		{"holdout too big", Campaign{ID: "c1", Placement: "home", Holdout: 0.9}, false},
		{"negative cap", Campaign{ID: "c1", Placement: "home", FrequencyCap: -1}, false},
		{"bad segment", Campaign{ID: "c1", Placement: "home", Segment: "orders >"}, false},
		{"end before start", Campaign{ID: "c1", Placement: "home", Start: time.Unix(200, 0), End: time.Unix(100, 0)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v", tc.c, err, tc.ok)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	r := mustRegistry(t,
		Campaign{ID: "all", Placement: "home", Priority: 1},
		Campaign{ID: "buyers", Placement: "home", Priority: 5, Segment: "orders > 0"},
		Campaign{ID: "capped", Placement: "home", Priority: 9, FrequencyCap: 2},
		Campaign{ID: "later", Placement: "home", Priority: 99, Start: now.Add(time.Hour)},
		Campaign{ID: "over", Placement: "home", Priority: 99, End: now},
		Campaign{ID: "other", Placement: "cart", Priority: 100},
	)
	buyer := map[string]any{"orders": 2}
	prospect := map[string]any{"orders": 0}
	for _, tc := range []struct {
		name string
		v    Visitor
		want string
	}{
		{"highest priority that applies", Visitor{ID: "v", Vars: buyer}, "capped"},
		{"cap reached: next", Visitor{ID: "v", Vars: buyer, Seen: map[string]int{"capped": 2}}, "buyers"},
		{"segment not matched: next", Visitor{ID: "v", Vars: prospect, Seen: map[string]int{"capped": 5}}, "all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := r.Decide("home", tc.v, now)
			if d.Campaign == nil || d.Campaign.ID != tc.want {
				t.Errorf("Decide(home, %+v) = %+v, want %s", tc.v, d.Campaign, tc.want)
			}
		})
	}
	if d := r.Decide("nowhere", Visitor{ID: "v"}, now); d.Campaign != nil {
		t.Errorf("Decide(nowhere) = %+v, want none", d.Campaign)
	}
}

func TestHoldoutStableAndShared(t *testing.T) {
	n, held := 20000, 0
	for i := range n {
		v := fmt.Sprintf("visitor-%d", i)
		g := GroupOf("spring", v, 0.2)
		if g != GroupOf("spring", v, 0.2) {
			t.Fatalf("GroupOf is not stable for %s", v)
		}
		if g == Holdout {
			held++
		}
	}
	if share := float64(held) / float64(n); math.Abs(share-0.2) > 0.015 {
		t.Errorf("holdout share = %.3f, want 0.2", share)
	}
	// Independent draws across campaigns.
	both := 0
	for i := range n {
		v := fmt.Sprintf("visitor-%d", i)
		if GroupOf("a", v, 0.5) == Holdout && GroupOf("b", v, 0.5) == Holdout {
			both++
		}
	}
	if share := float64(both) / float64(n); math.Abs(share-0.25) > 0.02 {
		t.Errorf("held out of both campaigns = %.3f, want about 0.25", share)
	}
}

// TestUpliftOnSimulatedCampaign simulates a campaign that lifts conversion
// from 8% to 12% and checks the report finds it.
func TestUpliftOnSimulatedCampaign(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var res Result
	for i := range 20000 {
		g := GroupOf("promo", fmt.Sprint(i), 0.3)
		p := 0.08
		if g == Treatment {
			p = 0.12
		}
		arm := res.Arm(g)
		arm.Visitors++
		if rng.Float64() < p {
			arm.Converted++
			arm.Orders++
			arm.Revenue += 50
		}
	}
	rep := Analyze(res)
	if !(rep.UpliftLow < 0.04 && 0.04 < rep.UpliftHigh) {
		t.Errorf("uplift %.4f [%.4f, %.4f] does not cover the true 0.04", rep.Uplift, rep.UpliftLow, rep.UpliftHigh)
	}
	if !rep.Significant || math.Abs(rep.RelativeUplift-0.5) > 0.2 {
		t.Errorf("report = %+v, want a significant uplift of about +50%%", rep)
	}
	if math.Abs(rep.RevenuePerVisitorUplift-2) > 0.6 || rep.IncrementalRevenue <= 0 {
		t.Errorf("revenue per visitor uplift = %.2f (want about 2), incremental %.0f", rep.RevenuePerVisitorUplift, rep.IncrementalRevenue)
	}
	// No effect: the interval covers zero.
	var flat Result
	for i := range 20000 {
		arm := flat.Arm(GroupOf("flat", fmt.Sprint(i), 0.3))
		arm.Visitors++
		if rng.Float64() < 0.1 {
			arm.Converted++
		}
	}
	if r := Analyze(flat); !(r.UpliftLow < 0 && 0 < r.UpliftHigh) {
		t.Errorf("no-effect campaign: interval [%.4f, %.4f] should cover 0", r.UpliftLow, r.UpliftHigh)
	}
}
