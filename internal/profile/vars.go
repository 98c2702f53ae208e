package profile

import (
	"maps"
	"time"
)

// Vars returns the flat variables segment expressions are written over,
// for the profile at now, scored for RFM against b (the site's
// breakpoints; with the zero value the rfm_* variables are empty). Every
// key is always present:
//
//	identity and qualification
//	  identified             bool     known by a user id or an email
//	  traits                 map[string]any  identify traits (never the email)
//	  device                 string   desktop, mobile, tablet, bot, unknown or ""
//	  browser, os, locale    string   of the latest hit
//	  site                   string   site id of the latest hit
//	  channel                string   first-touch channel (see Touch), "" if unknown
//	  source, medium, campaign string first touch's
//	  last_channel           string   last-touch channel
//	  last_source, last_campaign string last touch's
//	behaviour
//	  events                 int      hits
//	  page_views             int
//	  product_views          int
//	  sessions               int
//	  in_session             bool     last activity at most SessionGap before now
//	  days_since_first_seen  float64  -1 if never seen
//	  days_since_last_seen   float64  -1 if never seen
//	  interest               map[string]float64  category → decayed score at now
//	  product_interest       map[string]float64  product id → decayed score at now
//	  recent_items           []string product ids viewed lately, most recent first
//	cart
//	  cart_value             float64
//	  cart_items             int      sum of quantities
//	  minutes_since_cart_update float64 -1 if never
//	  minutes_since_checkout float64  -1 if never
//	orders and value
//	  orders                 int
//	  revenue                float64  sum over orders, as given
//	  currency               string
//	  aov                    float64  average order value, 0 if none
//	  days_since_last_order  float64  -1 if none: test orders > 0 first
//	  days_since_first_order float64  -1 if none
//	  order_gap_days         float64  mean gap between orders, -1 under two orders
//	  bought                 []string product ids bought
//	  ltv                    float64  historic + predicted over LTVHorizon
//	  predicted_ltv          float64  predicted over LTVHorizon
//	  churn_risk             float64  1 - AliveProbability; 0 if no orders
//	  lifecycle              string   see Lifecycle
//	  funnel_stage           string   see FunnelStage
//	  rfm_r, rfm_f, rfm_m    int      1 to 5, 0 if not scored
//	  rfm_segment            string   see SegmentOf, "" if not scored
//	  value_tier             string   top, growth, standard, unprofitable; "" if no orders (see ValueTier)
//
// Maps and slices are fresh copies (traits a shallow one).
func (p *Profile) Vars(now time.Time, b RFMBreakpoints) map[string]any {
	rfm := p.RFM(b, now)
	churn := 0.0
	if p.Orders.Count > 0 {
		churn = 1 - p.AliveProbability(now)
	}
	gap := -1.0
	if g := p.Orders.MeanGap(); g > 0 {
		gap = g.Hours() / 24
	}
	traits := maps.Clone(p.Traits)
	if traits == nil {
		traits = map[string]any{}
	}
	interest := p.CategoryInterest.At(now)
	if interest == nil {
		interest = map[string]float64{}
	}
	productInterest := p.ProductInterest.At(now)
	if productInterest == nil {
		productInterest = map[string]float64{}
	}
	return map[string]any{
		"identified":    p.Identified(),
		"traits":        traits,
		"device":        p.Device.Type,
		"browser":       p.Device.Browser,
		"os":            p.Device.OS,
		"locale":        p.Locale,
		"site":          p.SiteID,
		"channel":       p.FirstTouch.Channel,
		"source":        p.FirstTouch.Source,
		"medium":        p.FirstTouch.Medium,
		"campaign":      p.FirstTouch.Campaign,
		"last_channel":  p.LastTouch.Channel,
		"last_source":   p.LastTouch.Source,
		"last_campaign": p.LastTouch.Campaign,

		"events":                int(p.Events),
		"page_views":            int(p.PageViews),
		"product_views":         int(p.ProductViews),
		"sessions":              int(p.Sessions.Count),
		"in_session":            p.Sessions.Active(now),
		"days_since_first_seen": since(now, p.FirstSeen, day),
		"days_since_last_seen":  since(now, p.LastSeen, day),
		"interest":              interest,
		"product_interest":      productInterest,
		"recent_items":          p.RecentProductIDs(),

		"cart_value":                p.Cart.Value,
		"cart_items":                p.Cart.Items(),
		"minutes_since_cart_update": since(now, p.Cart.UpdatedAt, time.Minute),
		"minutes_since_checkout":    since(now, p.Cart.CheckoutAt, time.Minute),

		"orders":                 int(p.Orders.Count),
		"revenue":                p.Orders.Revenue,
		"currency":               p.Orders.Currency,
		"aov":                    p.Orders.AverageValue(),
		"days_since_last_order":  p.Recency(now),
		"days_since_first_order": since(now, p.Orders.First, day),
		"order_gap_days":         gap,
		"bought":                 append([]string{}, p.Orders.Bought...),
		"ltv":                    p.LTV(now),
		"predicted_ltv":          p.PredictedValue(now, LTVHorizon),
		"churn_risk":             churn,
		"lifecycle":              p.Lifecycle(now),
		"funnel_stage":           p.FunnelStage(),
		"rfm_r":                  rfm.R,
		"rfm_f":                  rfm.F,
		"rfm_m":                  rfm.M,
		"rfm_segment":            rfm.Segment,
		"value_tier":             p.ValueTier(now, b),
	}
}

// since returns now - t in units (never negative), or -1 for the zero t.
func since(now, t time.Time, unit time.Duration) float64 {
	if t.IsZero() {
		return -1
	}
	return max(float64(now.Sub(t))/float64(unit), 0)
}
