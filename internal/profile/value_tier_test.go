package profile

import (
	"testing"
	"time"
)

func TestValueTier(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	bp := RFMBreakpoints{M: [4]float64{20, 50, 100, 300}}
	mk := func(orders int64, revenue float64, last time.Time) *Profile {
		p := New("p", "u:x")
		p.Orders = Orders{Count: orders, Revenue: revenue, First: last.Add(-time.Duration(orders) * 30 * 24 * time.Hour), Last: last}
		return p
	}
	for _, tc := range []struct {
		name string
		p    *Profile
		b    RFMBreakpoints
		want string
	}{
		{"no orders", New("p", "a:x"), bp, ""},
		{"tiny orders cost more than they earn", mk(5, 40, now), bp, TierUnprofitable},
		{"top spender", mk(6, 900, now.Add(-10*24*time.Hour)), bp, TierTop},
		{"frequent recent buyer will grow", mk(3, 150, now.Add(-24*time.Hour)), bp, TierGrowth},
		{"lapsed middling buyer", mk(1, 120, now.Add(-700*24*time.Hour)), bp, TierStandard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.ValueTier(now, tc.b); got != tc.want {
				t.Errorf("ValueTier(%+v) = %q, want %q", tc.p.Orders, got, tc.want)
			}
		})
	}
}
