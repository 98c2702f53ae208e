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
	return p.VarsInto(make(map[string]any, varsLen), now, b)
}

// varsLen is the number of variables Vars sets.
const varsLen = 46

// VarsInto sets the variables Vars returns in m and returns m. m is empty
// or one an earlier call filled, for a caller that reuses it: every
// variable is set each time.
func (p *Profile) VarsInto(m map[string]any, now time.Time, b RFMBreakpoints) map[string]any {
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
	m["identified"] = p.Identified()
	m["traits"] = traits
	m["device"] = p.Device.Type
	m["browser"] = p.Device.Browser
	m["os"] = p.Device.OS
	m["locale"] = p.Locale
	m["site"] = p.SiteID
	m["channel"] = p.FirstTouch.Channel
	m["source"] = p.FirstTouch.Source
	m["medium"] = p.FirstTouch.Medium
	m["campaign"] = p.FirstTouch.Campaign
	m["last_channel"] = p.LastTouch.Channel
	m["last_source"] = p.LastTouch.Source
	m["last_campaign"] = p.LastTouch.Campaign
	m["events"] = int(p.Events)
	m["page_views"] = int(p.PageViews)
	m["product_views"] = int(p.ProductViews)
	m["sessions"] = int(p.Sessions.Count)
	m["in_session"] = p.Sessions.Active(now)
	m["days_since_first_seen"] = since(now, p.FirstSeen, day)
	m["days_since_last_seen"] = since(now, p.LastSeen, day)
	m["interest"] = interest
	m["product_interest"] = productInterest
	m["recent_items"] = p.RecentProductIDs()
	m["cart_value"] = p.Cart.Value
	m["cart_items"] = p.Cart.Items()
	m["minutes_since_cart_update"] = since(now, p.Cart.UpdatedAt, time.Minute)
	m["minutes_since_checkout"] = since(now, p.Cart.CheckoutAt, time.Minute)
	m["orders"] = int(p.Orders.Count)
	m["revenue"] = p.Orders.Revenue
	m["currency"] = p.Orders.Currency
	m["aov"] = p.Orders.AverageValue()
	m["days_since_last_order"] = p.Recency(now)
	m["days_since_first_order"] = since(now, p.Orders.First, day)
	m["order_gap_days"] = gap
	m["bought"] = append([]string{}, p.Orders.Bought...)
	m["ltv"] = p.LTV(now)
	m["predicted_ltv"] = p.PredictedValue(now, LTVHorizon)
	m["churn_risk"] = churn
	m["lifecycle"] = p.Lifecycle(now)
	m["funnel_stage"] = p.FunnelStage()
	m["rfm_r"] = rfm.R
	m["rfm_f"] = rfm.F
	m["rfm_m"] = rfm.M
	m["rfm_segment"] = rfm.Segment
	m["value_tier"] = p.ValueTier(now, b)
	return m
}

// since returns now - t in units (never negative), or -1 for the zero t.
func since(now, t time.Time, unit time.Duration) float64 {
	if t.IsZero() {
		return -1
	}
	return max(float64(now.Sub(t))/float64(unit), 0)
}
