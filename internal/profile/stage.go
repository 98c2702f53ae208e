package profile

import (
	"slices"
	"strings"
	"time"
)

// Lifecycle stages, see [Profile.Lifecycle].
const (
	LifecycleProspect    = "prospect"
	LifecycleNew         = "new"
	LifecycleActive      = "active"
	LifecycleAtRisk      = "at_risk"
	LifecycleLapsed      = "lapsed"
	LifecycleReactivated = "reactivated"
)

// The purchase rhythm the lifecycle is judged against. Set them once at
// start-up, before profiles are used.
var (
	// DefaultPurchaseGap is the rhythm assumed for a customer with a single
	// order: at risk after 120 days, lapsed after 240.
	DefaultPurchaseGap = 60 * day
	// MinPurchaseGap is the shortest rhythm: two orders on one day do not
	// make a customer at risk the next.
	MinPurchaseGap = 7 * day
)

// Multiples of the rhythm after which a customer is at risk and lapsed.
const (
	AtRiskFactor = 2
	LapsedFactor = 4
)

// rhythm returns the customer's purchase rhythm: the mean gap between
// orders, at least MinPurchaseGap, or DefaultPurchaseGap with fewer than
// two orders.
func (o *Orders) rhythm() time.Duration { return rhythmOf(o.First, o.Last, o.Count) }

// rhythmOf returns the rhythm of count orders from first to last.
func rhythmOf(first, last time.Time, count int64) time.Duration {
	gap := DefaultPurchaseGap
	if count >= 2 && last.After(first) {
		gap = last.Sub(first) / time.Duration(count-1)
	}
	return max(gap, MinPurchaseGap, time.Second)
}

// AtRiskAt returns when the customer turns at risk if no order comes: the
// last order plus AtRiskFactor × rhythm. It is zero without orders.
func (p *Profile) AtRiskAt() time.Time {
	if p.Orders.Count == 0 || p.Orders.Last.IsZero() {
		return time.Time{}
	}
	return p.Orders.Last.Add(AtRiskFactor * p.Orders.rhythm())
}

// lapseAfter returns the time without orders after which the customer has
// lapsed.
func (o *Orders) lapseAfter() time.Duration { return LapsedFactor * o.rhythm() }

// Lifecycle returns the customer's lifecycle stage at now, judged against
// their own purchase rhythm (see [Orders.MeanGap], DefaultPurchaseGap and
// MinPurchaseGap), first that applies:
//
//   - "prospect": no order;
//   - "lapsed": no order for more than LapsedFactor × rhythm;
//   - "at_risk": no order for more than AtRiskFactor × rhythm;
//   - "reactivated": the last order came after the customer had lapsed
//     (judged with the rhythm known when it arrived);
//   - "new": a single order;
//   - "active": otherwise.
func (p *Profile) Lifecycle(now time.Time) string {
	o := &p.Orders
	if o.Count == 0 {
		return LifecycleProspect
	}
	since := time.Duration(0)
	if !o.Last.IsZero() {
		since = now.Sub(o.Last)
	}
	switch gap := o.rhythm(); {
	case since > LapsedFactor*gap:
		return LifecycleLapsed
	case since > AtRiskFactor*gap:
		return LifecycleAtRisk
	case !o.ReactivatedAt.IsZero() && o.ReactivatedAt.Equal(o.Last):
		return LifecycleReactivated
	case o.Count == 1:
		return LifecycleNew
	}
	return LifecycleActive
}

// Funnel stages, in order, see [Profile.FunnelStage].
const (
	FunnelVisitor    = "visitor"
	FunnelEngaged    = "engaged"
	FunnelIdentified = "identified"
	FunnelCustomer   = "customer"
	FunnelRepeat     = "repeat"
)

var funnelOrder = []string{FunnelVisitor, FunnelEngaged, FunnelIdentified, FunnelCustomer, FunnelRepeat}

// FunnelRank returns the position of funnel stage s, 0 (visitor) to 4
// (repeat), or -1 for an unknown stage.
func FunnelRank(s string) int { return slices.Index(funnelOrder, s) }

// FunnelStage returns the furthest stage of the funnel the profile has
// reached; it never goes back:
//
//   - "visitor": seen;
//   - "engaged": two sessions or more, five page views or more, a product
//     viewed, or a cart;
//   - "identified": known by a user id (u:) or an email (e:);
//   - "customer": an order;
//   - "repeat": two orders or more.
func (p *Profile) FunnelStage() string {
	s := p.reached()
	if FunnelRank(p.Funnel) > FunnelRank(s) {
		return p.Funnel
	}
	return s
}

// reached returns the funnel stage the profile's state shows now.
func (p *Profile) reached() string {
	switch {
	case p.Orders.Count >= 2:
		return FunnelRepeat
	case p.Orders.Count == 1:
		return FunnelCustomer
	case p.Identified():
		return FunnelIdentified
	case p.Sessions.Count >= 2 || p.PageViews >= 5 || p.ProductViews > 0 || len(p.Cart.Lines) > 0 || !p.Cart.UpdatedAt.IsZero():
		return FunnelEngaged
	}
	return FunnelVisitor
}

// advance records the furthest funnel stage reached.
func (p *Profile) advance() { p.Funnel = p.FunnelStage() }

// Identified reports whether the profile is known by a user id or an
// email (identity's "u:" and "e:" identifiers).
func (p *Profile) Identified() bool {
	return slices.ContainsFunc(p.IDs, func(id string) bool {
		return strings.HasPrefix(id, "u:") || strings.HasPrefix(id, "e:")
	})
}
