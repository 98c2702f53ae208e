package console

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/segment"
)

// Identity is one identifier of a profile, split for display.
type Identity struct {
	// Kind is user, anonymous, email (Value is then the address's hash)
	// or other.
	Kind  string `json:"kind"`
	Value string `json:"value"`
	ID    string `json:"id"`
}

// Event is one dated fact of a profile's timeline.
type Event struct {
	At time.Time `json:"at"`
	// Kind is seen, session, view, order, cart, checkout or campaign.
	Kind string `json:"kind"`
	Text string `json:"text"`
	// Ref is the product, order or campaign id the fact is about.
	Ref string `json:"ref,omitempty"`
}

// SegmentRef names a segment a profile is in.
type SegmentRef struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// CampaignRef is a profile's history with one campaign.
type CampaignRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	profile.Exposure
}

// ItemRef is a product with what the catalog knows of it, and a score
// where one applies (interest).
type ItemRef struct {
	ID       string  `json:"id"`
	Name     string  `json:"name,omitempty"`
	Category string  `json:"category,omitempty"`
	Price    float64 `json:"price,omitempty"`
	Score    float64 `json:"score,omitempty"`
}

// OrderRef is one of the latest orders.
type OrderRef struct {
	profile.Order
	Revenue float64 `json:"revenue"`
}

// Activity is how and how much a profile visited.
type Activity struct {
	Events       int64          `json:"events"`
	PageViews    int64          `json:"pageViews"`
	ProductViews int64          `json:"productViews"`
	Sessions     int64          `json:"sessions"`
	FirstSeen    time.Time      `json:"firstSeen,omitzero"`
	LastSeen     time.Time      `json:"lastSeen,omitzero"`
	FirstTouch   profile.Touch  `json:"firstTouch"`
	LastTouch    profile.Touch  `json:"lastTouch"`
	Device       profile.Device `json:"device"`
	Locale       string         `json:"locale,omitempty"`
	Site         string         `json:"site,omitempty"`
}

// OrderHistory is what a profile bought: the latest orders newest first,
// the products newest first.
type OrderHistory struct {
	Count       int64      `json:"count"`
	Revenue     float64    `json:"revenue"`
	Currency    string     `json:"currency,omitempty"`
	AOV         float64    `json:"aov"`
	First       time.Time  `json:"first,omitzero"`
	Last        time.Time  `json:"last,omitzero"`
	MeanGapDays float64    `json:"meanGapDays,omitempty"`
	Recent      []OrderRef `json:"recent"`
	Bought      []ItemRef  `json:"bought"`
}

// Value is a profile's scores at a time and the policies they call for.
type Value struct {
	RFM              profile.RFMScore       `json:"rfm"`
	Breakpoints      profile.RFMBreakpoints `json:"breakpoints"`
	LTV              float64                `json:"ltv"`
	HistoricValue    float64                `json:"historicValue"`
	PredictedValue   float64                `json:"predictedValue"`
	AliveProbability float64                `json:"aliveProbability"`
	Tier             string                 `json:"tier"`
	Lifecycle        string                 `json:"lifecycle"`
	FunnelStage      string                 `json:"funnelStage"`
	Policies         []Group                `json:"policies"`
}

// Interests are a profile's top categories and products, decayed to now.
type Interests struct {
	Categories []profile.Scored `json:"categories"`
	Products   []ItemRef        `json:"products"`
}

// Customer is the 360° view of a profile: identities, traits, activity,
// orders, cart, timeline, interests, segments, value and campaigns.
type Customer struct {
	ID         string         `json:"id"`
	Key        string         `json:"key"`
	Identities []Identity     `json:"identities"`
	Traits     map[string]any `json:"traits"`
	Activity   Activity       `json:"activity"`
	Orders     OrderHistory   `json:"orders"`
	Cart       profile.Cart   `json:"cart"`
	Timeline   []Event        `json:"timeline"`
	Interests  Interests      `json:"interests"`
	Segments   []SegmentRef   `json:"segments"`
	Value      Value          `json:"value"`
	Campaigns  []CampaignRef  `json:"campaigns"`
}

// Lookups are what NewCustomer reads besides the profile; each may be nil.
type Lookups struct {
	// Item returns what the catalog knows of a product.
	Item func(id string) catalog.Item
	// Segments returns the segments whose expression vars satisfy.
	Segments func(vars map[string]any) []segment.Segment
	// Campaign returns a campaign's name.
	Campaign func(id string) string
}

// NewCustomer returns the 360° view of p at now, scored against its
// site's breakpoints b.
func NewCustomer(p *profile.Profile, now time.Time, b profile.RFMBreakpoints, l Lookups) Customer {
	item := func(id string, score float64) ItemRef {
		ref := ItemRef{ID: id, Score: score}
		if l.Item != nil {
			it := l.Item(id)
			ref.Name, ref.Category, ref.Price = it.Name, it.Category, it.Price
		}
		return ref
	}
	v := Customer{ID: p.ID, Key: p.Key, Traits: p.Traits, Identities: Identities(p)}
	if v.Traits == nil {
		v.Traits = map[string]any{}
	}
	v.Activity = Activity{Events: p.Events, PageViews: p.PageViews, ProductViews: p.ProductViews, Sessions: p.Sessions.Count,
		FirstSeen: p.FirstSeen, LastSeen: p.LastSeen, FirstTouch: p.FirstTouch, LastTouch: p.LastTouch,
		Device: p.Device, Locale: p.Locale, Site: p.SiteID}

	o := &v.Orders
	o.Count, o.Revenue, o.Currency, o.AOV = p.Orders.Count, round2(p.Orders.Revenue), p.Orders.Currency, round2(p.Orders.AverageValue())
	o.First, o.Last = p.Orders.First, p.Orders.Last
	if g := p.Orders.MeanGap(); g > 0 {
		o.MeanGapDays = round2(g.Hours() / 24)
	}
	o.Recent = []OrderRef{}
	for i := len(p.Orders.Recent) - 1; i >= 0; i-- {
		r := p.Orders.Recent[i]
		o.Recent = append(o.Recent, OrderRef{Order: r, Revenue: round2(r.Revenue)})
	}
	o.Bought = []ItemRef{}
	for i := len(p.Orders.Bought) - 1; i >= 0; i-- {
		o.Bought = append(o.Bought, item(p.Orders.Bought[i], 0))
	}
	v.Cart = p.Cart
	v.Timeline = Timeline(p, func(id string) string { return item(id, 0).Name })

	v.Interests.Categories = p.CategoryInterest.Top(10, now)
	for i := range v.Interests.Categories {
		v.Interests.Categories[i].Score = round2(v.Interests.Categories[i].Score)
	}
	v.Interests.Products = []ItemRef{}
	for _, s := range p.ProductInterest.Top(10, now) {
		v.Interests.Products = append(v.Interests.Products, item(s.Key, round2(s.Score)))
	}

	v.Segments = []SegmentRef{}
	if l.Segments != nil {
		for _, s := range l.Segments(p.Vars(now, b)) {
			v.Segments = append(v.Segments, SegmentRef{ID: s.ID, Name: s.Name, Description: s.Description})
		}
	}
	val := &v.Value
	val.RFM, val.Breakpoints = p.RFM(b, now), b
	val.LTV, val.HistoricValue = round2(p.LTV(now)), round2(p.HistoricValue())
	val.PredictedValue = round2(p.PredictedValue(now, profile.LTVHorizon))
	val.AliveProbability = round2(p.AliveProbability(now))
	val.Tier, val.Lifecycle, val.FunnelStage = p.ValueTier(now, b), p.Lifecycle(now), p.FunnelStage()
	val.Policies = []Group{}
	if val.RFM.Segment != "" {
		val.Policies = append(val.Policies, Group{Name: "RFM: " + val.RFM.Segment, Policy: RFMPolicy(val.RFM.Segment)})
	}
	if val.Tier != "" {
		val.Policies = append(val.Policies, Group{Name: "Tier: " + val.Tier, Policy: TierPolicy(val.Tier)})
	}
	val.Policies = append(val.Policies, Group{Name: "Lifecycle: " + val.Lifecycle, Policy: LifecyclePolicy(val.Lifecycle)})

	v.Campaigns = []CampaignRef{}
	for id, x := range p.Campaigns {
		ref := CampaignRef{ID: id, Exposure: *x}
		if l.Campaign != nil {
			ref.Name = l.Campaign(id)
		}
		v.Campaigns = append(v.Campaigns, ref)
	}
	slices.SortFunc(v.Campaigns, func(a, b CampaignRef) int { return b.Last.Compare(a.Last) })
	return v
}

// Identities splits a profile's identifiers for display.
func Identities(p *profile.Profile) []Identity {
	out := make([]Identity, 0, len(p.IDs))
	for _, id := range p.IDs {
		kind, val, _ := strings.Cut(id, ":")
		switch kind {
		case "u":
			kind = "user"
		case "a":
			kind = "anonymous"
		case "e":
			kind = "email"
		default:
			kind, val = "other", id
		}
		out = append(out, Identity{Kind: kind, Value: val, ID: id})
	}
	return out
}

// Timeline returns what a profile holds with a date, newest first: first
// seen, the remembered sessions, recent product views (named by name(id)
// when it knows them), orders, the open cart, checkout and campaign
// exposures.
func Timeline(p *profile.Profile, name func(id string) string) []Event {
	t := []Event{}
	if !p.FirstSeen.IsZero() {
		text := "First seen"
		if ch := p.FirstTouch.Channel; ch != "" {
			text += " (" + ch
			if p.FirstTouch.Source != "" {
				text += ", " + p.FirstTouch.Source
			}
			text += ")"
		}
		t = append(t, Event{At: p.FirstSeen, Kind: "seen", Text: text})
	}
	for _, s := range p.Sessions.Recent {
		mins := int(s.End.Sub(s.Start).Minutes())
		t = append(t, Event{At: s.Start, Kind: "session", Text: "Visit of " + strconv.Itoa(mins) + " min"})
	}
	for _, it := range p.RecentItems {
		n := name(it.ID)
		if n == "" {
			n = it.ID
		}
		t = append(t, Event{At: it.At, Kind: "view", Text: "Viewed " + n, Ref: it.ID})
	}
	for _, o := range p.Orders.Recent {
		id := o.ID
		if id == "" {
			id = "(no id)"
		}
		t = append(t, Event{At: o.At, Kind: "order", Text: "Order " + id + ": " +
			strconv.FormatFloat(o.Revenue, 'f', 2, 64) + " " + p.Orders.Currency, Ref: o.ID})
	}
	if !p.Cart.UpdatedAt.IsZero() && len(p.Cart.Lines) > 0 {
		t = append(t, Event{At: p.Cart.UpdatedAt, Kind: "cart", Text: "Cart: " + strconv.Itoa(p.Cart.Items()) +
			" items, " + strconv.FormatFloat(p.Cart.Value, 'f', 2, 64)})
	}
	if !p.Cart.CheckoutAt.IsZero() {
		t = append(t, Event{At: p.Cart.CheckoutAt, Kind: "checkout", Text: "Checkout started"})
	}
	for id, x := range p.Campaigns {
		text := "Campaign " + id + " (" + x.Group + ", seen " + strconv.Itoa(x.Count) + "×)"
		if x.Converted {
			text += ", converted"
		}
		t = append(t, Event{At: x.First, Kind: "campaign", Text: text, Ref: id})
	}
	slices.SortStableFunc(t, func(a, b Event) int { return b.At.Compare(a.At) })
	return t
}
