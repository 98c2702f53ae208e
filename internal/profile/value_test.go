package profile

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// customer returns a profile with orders of revenue each on the given days.
func customer(tb testing.TB, revenue float64, orderDays ...float64) *Profile {
	tb.Helper()
	p := New("p_c", "u:c")
	for i, d := range orderDays {
		applyAll(tb, p, eOrder(fmt.Sprint("o", i), days(d), map[string]any{"revenue": revenue}))
	}
	return p
}

func TestComputeBreakpoints(t *testing.T) {
	var samples []RFMSample
	for i := 1; i <= 11; i++ { // 1..11: percentiles fall on whole values
		samples = append(samples, RFMSample{Recency: float64(10 * i), Frequency: float64(i), Monetary: float64(100 * i)})
	}
	samples = append(samples,
		RFMSample{Recency: 5, Frequency: 0, Monetary: 0},           // not a customer
		RFMSample{Recency: math.NaN(), Frequency: 1, Monetary: 10}, // broken
		RFMSample{Recency: -1, Frequency: 1, Monetary: 10},         // broken
	)
	got := ComputeBreakpoints(samples...)
	want := RFMBreakpoints{R: [4]float64{30, 50, 70, 90}, F: [4]float64{3, 5, 7, 9}, M: [4]float64{300, 500, 700, 900}}
	if got != want {
		t.Errorf("ComputeBreakpoints(1..11) = %+v, want %+v", got, want)
	}

	if got := ComputeBreakpoints(RFMSample{Recency: 10, Frequency: 1, Monetary: 0}, RFMSample{Recency: 20, Frequency: 2, Monetary: 10}); got.R != [4]float64{12, 14, 16, 18} {
		t.Errorf("ComputeBreakpoints of two: R = %v, want interpolated 12, 14, 16, 18", got.R)
	}
	if got := ComputeBreakpoints(); got != (RFMBreakpoints{}) {
		t.Errorf("ComputeBreakpoints() = %+v, want the zero value", got)
	}
}

func TestSegmentOf(t *testing.T) {
	tests := []struct {
		r, f, m int
		want    string
	}{
		{5, 5, 5, SegmentChampions},
		{5, 4, 4, SegmentChampions},
		{5, 4, 3, SegmentChampions}, // FM (4+3)/2 rounds up to 4
		{5, 3, 3, SegmentPotentialLoyalist},
		{5, 1, 1, SegmentNew},
		{5, 1, 2, SegmentPotentialLoyalist},
		{4, 1, 1, SegmentPromising},
		{4, 5, 5, SegmentLoyal},
		{3, 5, 4, SegmentLoyal},
		{3, 3, 3, SegmentNeedAttention},
		{3, 2, 1, SegmentAboutToSleep},
		{2, 3, 3, SegmentAtRisk},
		{1, 4, 3, SegmentAtRisk},
		{2, 5, 5, SegmentCantLoseThem},
		{1, 5, 4, SegmentCantLoseThem},
		{2, 1, 2, SegmentHibernating},
		{1, 1, 1, SegmentLost},
		{1, 2, 2, SegmentLost},
		{0, 3, 3, ""},
		{3, 6, 3, ""},
	}
	for _, tc := range tests {
		if got := SegmentOf(tc.r, tc.f, tc.m); got != tc.want {
			t.Errorf("SegmentOf(%d, %d, %d) = %q, want %q", tc.r, tc.f, tc.m, got, tc.want)
		}
	}
	// Every score has a segment.
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				if SegmentOf(r, f, m) == "" {
					t.Errorf("SegmentOf(%d, %d, %d) = \"\"", r, f, m)
				}
			}
		}
	}
}

func TestRFM(t *testing.T) {
	b := RFMBreakpoints{R: [4]float64{10, 30, 60, 120}, F: [4]float64{1, 1, 2, 4}, M: [4]float64{50, 100, 200, 500}}
	now := days(400)
	tests := []struct {
		name string
		p    *Profile
		want RFMScore
	}{
		{"prospect", New("p_1", "a:a1"), RFMScore{}},
		{"one recent small order", customer(t, 20, 395), RFMScore{5, 1, 1, SegmentNew}},
		{"frequent big spender", customer(t, 200, 100, 200, 300, 390, 395), RFMScore{5, 5, 5, SegmentChampions}},
		{"frequent big spender gone quiet", customer(t, 200, 10, 50, 100, 150, 200), RFMScore{1, 5, 5, SegmentCantLoseThem}},
		{"one old small order", customer(t, 20, 100), RFMScore{1, 1, 1, SegmentLost}},
		{"on a cut point", customer(t, 50, 340, 370), RFMScore{4, 3, 2, SegmentPotentialLoyalist}}, // R 30 ≤ R[1], F 2 ≤ F[2], M 100 ≤ M[1]
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.RFM(b, now); got != tc.want {
				s, _ := tc.p.RFMSample(now)
				t.Errorf("RFM() of %+v = %+v, want %+v", s, got, tc.want)
			}
		})
	}
	if got := customer(t, 20, 395).RFM(RFMBreakpoints{}, now); got != (RFMScore{}) {
		t.Errorf("RFM(zero breakpoints) = %+v, want the zero score", got)
	}
}

func TestRawRFM(t *testing.T) {
	p := New("p_1", "a:a1")
	if p.Recency(days(1)) != -1 || p.Frequency() != 0 || p.Monetary() != 0 {
		t.Errorf("prospect: R, F, M = %v, %v, %v; want -1, 0, 0", p.Recency(days(1)), p.Frequency(), p.Monetary())
	}
	if _, ok := p.RFMSample(days(1)); ok {
		t.Errorf("RFMSample() of a prospect: ok, want none")
	}
	p = customer(t, 30, 0, 10)
	if s, ok := p.RFMSample(days(12.5)); !ok || s != (RFMSample{2.5, 2, 60}) {
		t.Errorf("RFMSample() = %+v, %v; want {2.5 2 60}, true", s, ok)
	}
}

func TestLTV(t *testing.T) {
	tests := []struct {
		name  string
		p     *Profile
		now   float64 // day
		alive float64
		pred  float64
	}{
		{"prospect", New("p_1", "a:a1"), 0, 0, 0},
		// rhythm 10 days, 5 orders of 100: 100 × 36.5 × 1 × 5/6.
		{"regular, just ordered", customer(t, 100, 0, 10, 20, 30, 40), 40, 1, 100 * 36.5 * 5 / 6},
		// at risk sets in at 2 × 10 days: alive ½.
		{"regular, at the at-risk point", customer(t, 100, 0, 10, 20, 30, 40), 60, 0.5, 100 * 36.5 * 0.5 * 5 / 6},
		// one order: rhythm DefaultPurchaseGap (60 days), shrunk by ½.
		{"one order", customer(t, 80, 0), 0, 1, 80 * 365.0 / 60 * 0.5},
		{"one order, lapsed", customer(t, 80, 0), 240, 0.25, 80 * 365.0 / 60 * 0.25 * 0.5},
		// two orders a day apart: rhythm MinPurchaseGap (7 days).
		{"rhythm floor", customer(t, 10, 0, 1), 1, 1, 10 * 365.0 / 7 * 2 / 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := days(tc.now)
			if got := tc.p.AliveProbability(now); !near(got, tc.alive) {
				t.Errorf("AliveProbability() = %v, want %v", got, tc.alive)
			}
			if got := tc.p.PredictedValue(now, 365*24*time.Hour); !near(got, tc.pred) {
				t.Errorf("PredictedValue(1 year) = %v, want %v", got, tc.pred)
			}
			if got, want := tc.p.LTV(now), tc.p.HistoricValue()+tc.pred; !near(got, want) {
				t.Errorf("LTV() = %v, want historic + predicted %v", got, want)
			}
		})
	}
}
