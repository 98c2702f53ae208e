package profile

import (
	"math"
	"slices"
	"time"
)

// Named RFM segments, see [SegmentOf].
const (
	SegmentChampions         = "Champions"
	SegmentLoyal             = "Loyal"
	SegmentPotentialLoyalist = "Potential Loyalist"
	SegmentNew               = "New"
	SegmentPromising         = "Promising"
	SegmentNeedAttention     = "Need Attention"
	SegmentAboutToSleep      = "About To Sleep"
	SegmentAtRisk            = "At Risk"
	SegmentCantLoseThem      = "Can't Lose Them"
	SegmentHibernating       = "Hibernating"
	SegmentLost              = "Lost"
)

// day is the unit of recency and of the rhythm figures.
const day = 24 * time.Hour

// Recency returns the days, fractional, from the last order to now, or -1
// when the profile has no orders.
func (p *Profile) Recency(now time.Time) float64 {
	if p.Orders.Count == 0 {
		return -1
	}
	if p.Orders.Last.IsZero() {
		return 0
	}
	return max(now.Sub(p.Orders.Last).Hours()/24, 0)
}

// Frequency returns the number of orders.
func (p *Profile) Frequency() int64 { return p.Orders.Count }

// Monetary returns the revenue of all orders.
func (p *Profile) Monetary() float64 { return p.Orders.Revenue }

// RFMSample is one customer's raw RFM values: [Profile.Recency] in days,
// [Profile.Frequency] in orders, [Profile.Monetary] in revenue.
type RFMSample struct {
	Recency   float64 `json:"r"`
	Frequency float64 `json:"f"`
	Monetary  float64 `json:"m"`
}

// RFMSample returns the profile's raw RFM values at now, and false for a
// profile with no orders, which has none.
func (p *Profile) RFMSample(now time.Time) (RFMSample, bool) {
	if p.Orders.Count == 0 {
		return RFMSample{}, false
	}
	return RFMSample{p.Recency(now), float64(p.Frequency()), p.Monetary()}, true
}

// RFMBreakpoints are the quintile cut points of a site's customers: for
// each of recency (days), frequency (orders) and monetary (revenue), the
// 20th, 40th, 60th and 80th percentiles, ascending. The zero value means
// "not known": [Profile.RFM] gives no score with it.
type RFMBreakpoints struct {
	R [4]float64 `json:"r"`
	F [4]float64 `json:"f"`
	M [4]float64 `json:"m"`
}

// ComputeBreakpoints returns the quintile cut points of samples: one
// [RFMSample] per customer of the site (a profile with at least one
// order), all taken at the same now. Samples without orders, or with a
// negative or non-finite value, are skipped; with none left it returns the
// zero RFMBreakpoints. Percentiles are linearly interpolated between the
// closest ranks.
func ComputeBreakpoints(samples ...RFMSample) RFMBreakpoints {
	var r, f, m []float64
	for _, s := range samples {
		if !(s.Frequency >= 1) || !finite(s.Recency) || !finite(s.Monetary) || !finite(s.Frequency) || s.Recency < 0 || s.Monetary < 0 {
			continue
		}
		r, f, m = append(r, s.Recency), append(f, s.Frequency), append(m, s.Monetary)
	}
	if len(r) == 0 {
		return RFMBreakpoints{}
	}
	return RFMBreakpoints{R: quintiles(r), F: quintiles(f), M: quintiles(m)}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// quintiles returns the 20th, 40th, 60th and 80th percentiles of v.
func quintiles(v []float64) [4]float64 {
	slices.Sort(v)
	var q [4]float64
	for i := range q {
		pos := float64(i+1) / 5 * float64(len(v)-1)
		lo := int(pos)
		hi := min(lo+1, len(v)-1)
		q[i] = v[lo] + (v[hi]-v[lo])*(pos-float64(lo))
	}
	return q
}

// RFMScore is a customer's recency, frequency and monetary scores, each 1
// (worst) to 5 (best), and the named segment they fall in. The zero value
// is "no score".
type RFMScore struct {
	R       int    `json:"r"`
	F       int    `json:"f"`
	M       int    `json:"m"`
	Segment string `json:"segment"`
}

// RFM scores the profile against the site's breakpoints at now. Recency
// scores 5 at or under R[0] days, 4 at or under R[1], and so on, 1 over
// R[3]; frequency and monetary score 1 at or under their [0], 2 at or
// under [1], and so on, 5 over [3]. A profile without orders, or zero
// breakpoints, gets the zero RFMScore.
func (p *Profile) RFM(b RFMBreakpoints, now time.Time) RFMScore {
	s, ok := p.RFMSample(now)
	if !ok || b == (RFMBreakpoints{}) {
		return RFMScore{}
	}
	sc := RFMScore{R: 5 - bucket(s.Recency, b.R), F: 1 + bucket(s.Frequency, b.F), M: 1 + bucket(s.Monetary, b.M)}
	sc.Segment = SegmentOf(sc.R, sc.F, sc.M)
	return sc
}

// bucket returns how many cut points v is above.
func bucket(v float64, cuts [4]float64) int {
	n := 0
	for _, c := range cuts {
		if v > c {
			n++
		}
	}
	return n
}

// rfmGrid is the segment table: rows are R 5 (top) to 1, columns FM 1 to 5.
var rfmGrid = [5][5]string{
	{SegmentNew, SegmentPotentialLoyalist, SegmentPotentialLoyalist, SegmentChampions, SegmentChampions},
	{SegmentPromising, SegmentPotentialLoyalist, SegmentPotentialLoyalist, SegmentLoyal, SegmentLoyal},
	{SegmentAboutToSleep, SegmentAboutToSleep, SegmentNeedAttention, SegmentLoyal, SegmentLoyal},
	{SegmentHibernating, SegmentHibernating, SegmentAtRisk, SegmentAtRisk, SegmentCantLoseThem},
	{SegmentLost, SegmentLost, SegmentAtRisk, SegmentAtRisk, SegmentCantLoseThem},
}

// SegmentOf names the RFM segment of scores r, f and m (each 1 to 5) with
// the widely used R × FM table, where FM is the mean of F and M rounded
// half up ((F+M+1)/2):
//
//	R \ FM  1               2                   3                   4          5
//	5       New             Potential Loyalist  Potential Loyalist  Champions  Champions
//	4       Promising       Potential Loyalist  Potential Loyalist  Loyal      Loyal
//	3       About To Sleep  About To Sleep      Need Attention      Loyal      Loyal
//	2       Hibernating     Hibernating         At Risk             At Risk    Can't Lose Them
//	1       Lost            Lost                At Risk             At Risk    Can't Lose Them
//
// It returns "" for a score out of range.
func SegmentOf(r, f, m int) string {
	if r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5 {
		return ""
	}
	return rfmGrid[5-r][(f+m+1)/2-1]
}

// LTVHorizon is the horizon of the predicted lifetime value in [Profile.LTV].
var LTVHorizon = 365 * day

// AliveProbability returns the chance that a customer still buys: 1 right
// after an order, halving every AtRiskFactor × rhythm since the last one,
// 2^(-since / (AtRiskFactor × rhythm)): ½ when at risk sets in, ¼ at the
// lapse. It is 0 for a profile with no orders.
func (p *Profile) AliveProbability(now time.Time) float64 {
	if p.Orders.Count == 0 {
		return 0
	}
	since := max(now.Sub(p.Orders.Last), 0)
	if p.Orders.Last.IsZero() {
		since = 0
	}
	return math.Exp2(-float64(since) / float64(AtRiskFactor*p.Orders.rhythm()))
}

// PredictedValue returns the revenue expected from the customer over the
// next horizon:
//
//	AOV × (horizon / rhythm) × AliveProbability × n / (n + 1)
//
// where AOV is the average order value, rhythm the customer's purchase
// rhythm (mean gap between orders, at least MinPurchaseGap, or
// DefaultPurchaseGap with a single order), and n the number of orders:
// n/(n+1) shrinks the guess for customers with little history (½ for a
// one-order customer). It is 0 for a profile with no orders.
func (p *Profile) PredictedValue(now time.Time, horizon time.Duration) float64 {
	n := float64(p.Orders.Count)
	if n == 0 || horizon <= 0 {
		return 0
	}
	purchases := float64(horizon) / float64(p.Orders.rhythm())
	return p.Orders.AverageValue() * purchases * p.AliveProbability(now) * n / (n + 1)
}

// HistoricValue returns the revenue of the customer's orders so far.
func (p *Profile) HistoricValue() float64 { return p.Orders.Revenue }

// LTV returns the customer's lifetime value: the historic value plus the
// value predicted over LTVHorizon.
func (p *Profile) LTV(now time.Time) float64 {
	return p.HistoricValue() + p.PredictedValue(now, LTVHorizon)
}

// Value tiers, see [Profile.ValueTier].
const (
	TierTop          = "top"
	TierGrowth       = "growth"
	TierStandard     = "standard"
	TierUnprofitable = "unprofitable"
)

// Margin is the gross margin on revenue, and CostPerOrder the cost to
// serve one order (fulfilment, support, payment), that ValueTier weighs a
// customer's profit with. They are set once at start-up (the profiler's
// --margin and --cost-per-order) and must not change while profiles are in
// use.
var (
	Margin       = 0.3
	CostPerOrder = 5.0
)

// ValueTier places a customer in the Pareto value tiers of the site, whose
// RFM breakpoints b carry the monetary 80th percentile (b.M[3]):
//
//   - "unprofitable": the margin on their revenue does not cover the cost
//     of serving their orders (Margin × revenue < CostPerOrder × orders):
//     serve them at lower cost;
//   - "top": revenue at or above the site's 80th percentile, the few who
//     bring most of the revenue: keep and reward them;
//   - "growth": not top yet, but their predicted value over LTVHorizon
//     reaches the top threshold or exceeds what they spent so far: develop
//     them;
//   - "standard": the others.
//
// Non-customers have no tier ("").
func (p *Profile) ValueTier(now time.Time, b RFMBreakpoints) string {
	if p.Orders.Count == 0 {
		return ""
	}
	rev := p.Orders.Revenue
	if Margin*rev < CostPerOrder*float64(p.Orders.Count) {
		return TierUnprofitable
	}
	top := b.M[3]
	if top > 0 && rev >= top {
		return TierTop
	}
	pred := p.PredictedValue(now, LTVHorizon)
	if (top > 0 && pred >= top) || pred > rev {
		return TierGrowth
	}
	return TierStandard
}
