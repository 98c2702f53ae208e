package console

import "github.com/ecrm/ecrm/internal/profile"

// Policy is the relationship a group of customers calls for: a short
// action (keep and reward, develop, win back, serve at lower cost, let
// go, ...) and what it means in practice.
type Policy struct {
	Action string `json:"action"`
	Text   string `json:"text"`
}

// The actions of the policies.
const (
	ActionKeep     = "keep and reward"
	ActionDevelop  = "develop"
	ActionRetain   = "retain"
	ActionWinBack  = "win back"
	ActionLowCost  = "serve at lower cost"
	ActionLetGo    = "let go"
	ActionConvert  = "convert"
	ActionMaintain = "maintain"
)

var rfmPolicies = map[string]Policy{
	profile.SegmentChampions:         {ActionKeep, "Bought recently, often and for the most: reward them (early access, loyalty perks), ask for reviews and referrals; no blanket discounts."},
	profile.SegmentLoyal:             {ActionKeep, "Buy regularly: upsell higher-value products, enrol them in the loyalty programme, ask for reviews."},
	profile.SegmentPotentialLoyalist: {ActionDevelop, "Recent customers with more than one order: offer membership, recommend related products to build the habit."},
	profile.SegmentNew:               {ActionDevelop, "Bought for the first time lately: onboard them (welcome series, help with the product) and earn the second order."},
	profile.SegmentPromising:         {ActionDevelop, "Recent but low spenders: show the range with recommendations and content; a small incentive to come back."},
	profile.SegmentNeedAttention:     {ActionRetain, "Middling on every score and slipping: reactivate with personalised, time-limited offers from their interests."},
	profile.SegmentAboutToSleep:      {ActionWinBack, "Below average and fading: remind them of popular and recommended products before they lapse."},
	profile.SegmentAtRisk:            {ActionWinBack, "Spent well but not for a while: personal win-back (what they bought, renewals, a strong offer)."},
	profile.SegmentCantLoseThem:      {ActionWinBack, "Used to be among the best and are slipping away: personal contact, the best offers, ask what went wrong."},
	profile.SegmentHibernating:       {ActionLowCost, "Low value, long gone: low-cost reactivation only (recommendations, standard offers); do not overspend."},
	profile.SegmentLost:              {ActionLetGo, "Lowest scores: at most one last low-cost win-back, then stop spending on them."},
}

var tierPolicies = map[string]Policy{
	profile.TierTop:          {ActionKeep, "The few who bring most of the revenue: protect them, reward loyalty, personal service first."},
	profile.TierGrowth:       {ActionDevelop, "Predicted to be worth more than they spent so far: cross-sell and upsell, grow their share of wallet."},
	profile.TierStandard:     {ActionMaintain, "Serve them well and efficiently; move them up with recommendations."},
	profile.TierUnprofitable: {ActionLowCost, "The margin on their orders does not cover the cost of serving them: cheaper channels, minimum order values, no incentives."},
}

var lifecyclePolicies = map[string]Policy{
	profile.LifecycleProspect:    {ActionConvert, "Not a customer yet: capture an email, reassure, make a first-purchase offer."},
	profile.LifecycleNew:         {ActionDevelop, "One order so far: welcome and onboard them, encourage the second order."},
	profile.LifecycleActive:      {ActionKeep, "Buying at their own rhythm: keep them engaged with recommendations, cross-sell and loyalty."},
	profile.LifecycleAtRisk:      {ActionWinBack, "Overdue for their own purchase rhythm: a reminder and a personal offer now."},
	profile.LifecycleLapsed:      {ActionLetGo, "Gone for four times their rhythm: one low-cost win-back, then let go."},
	profile.LifecycleReactivated: {ActionRetain, "Came back after lapsing: thank them and rebuild the habit quickly."},
}

// RFMPolicy returns the policy of a named RFM segment (see
// profile.SegmentOf), or the zero Policy.
func RFMPolicy(segment string) Policy { return rfmPolicies[segment] }

// TierPolicy returns the policy of a value tier (see
// profile.Profile.ValueTier), or the zero Policy.
func TierPolicy(tier string) Policy { return tierPolicies[tier] }

// LifecyclePolicy returns the policy of a lifecycle stage (see
// profile.Profile.Lifecycle), or the zero Policy.
func LifecyclePolicy(stage string) Policy { return lifecyclePolicies[stage] }

// RFMSegments are the named RFM segments, best first.
var RFMSegments = []string{
	profile.SegmentChampions, profile.SegmentLoyal, profile.SegmentPotentialLoyalist, profile.SegmentNew,
	profile.SegmentPromising, profile.SegmentNeedAttention, profile.SegmentAboutToSleep, profile.SegmentAtRisk,
	profile.SegmentCantLoseThem, profile.SegmentHibernating, profile.SegmentLost,
}

// Tiers are the value tiers, most valuable first.
var Tiers = []string{profile.TierTop, profile.TierGrowth, profile.TierStandard, profile.TierUnprofitable}

// Lifecycles are the lifecycle stages, in the order a customer meets them.
var Lifecycles = []string{
	profile.LifecycleProspect, profile.LifecycleNew, profile.LifecycleActive, profile.LifecycleReactivated,
	profile.LifecycleAtRisk, profile.LifecycleLapsed,
}
