// Package profile holds the customer profile, the 360° view the profiler
// keeps for each person, and the rules that change it: applying a hit and
// absorbing another profile when two turn out to be one person.
//
// The profile is built by concept, one file each: identification and the
// counters (this file), qualification (touch.go: first and last touch,
// device, locale, site), visits (session.go), interests and recent items
// (interest.go), cart and orders (commerce.go). From it, pure functions of
// the profile and a time differentiate customers: RFM and lifetime value
// (value.go), lifecycle and funnel stage (stage.go), and the variables
// segment expressions use (vars.go).
//
// Every part is bounded in size and encodes to JSON, the form profiles are
// stored and published in.
//
// It imports no infrastructure; the profiler stores profiles and the
// personalize views read them.
package profile

import (
	"slices"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// RecentCap is how many recent message ids a profile keeps to de-duplicate
// client retries.
const RecentCap = 128

// Profile is one person as far as ecrm knows them. It is not safe for
// concurrent use; the profiler owns it and publishes copies.
type Profile struct {
	// ID is the profile's stable, opaque id (see identity.ProfileID).
	ID string `json:"id"`
	// Key is the identifier that owns the profile: `u:<userId>` once known,
	// else `a:<anonymousId>`. It names the profiler partition holding it.
	Key string `json:"key"`
	// IDs are every identifier linked to the profile.
	IDs    []string       `json:"ids"`
	Traits map[string]any `json:"traits,omitempty"`

	Events    int64     `json:"events"`
	PageViews int64     `json:"pageViews"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`

	// Qualification (touch.go).

	// FirstTouch is how the first session began, LastTouch the latest.
	FirstTouch Touch `json:"firstTouch,omitzero"`
	LastTouch  Touch `json:"lastTouch,omitzero"`
	// Device, Locale (context.locale) and SiteID are the latest hit's.
	Device Device `json:"device,omitzero"`
	Locale string `json:"locale,omitempty"`
	SiteID string `json:"siteId,omitempty"`

	// Behaviour (session.go, interest.go).

	Sessions Sessions `json:"sessions,omitzero"`
	// ProductViews counts Product Viewed events.
	ProductViews int64 `json:"productViews,omitempty"`
	// ProductInterest and CategoryInterest are the decaying interests by
	// product id and by category (lower case).
	ProductInterest  Interests `json:"productInterest,omitzero"`
	CategoryInterest Interests `json:"categoryInterest,omitzero"`
	// RecentItems are the products viewed lately, most recent first.
	RecentItems []RecentItem `json:"recentItems,omitempty"`

	// History (commerce.go).

	Cart   Cart   `json:"cart,omitzero"`
	Orders Orders `json:"orders,omitzero"`

	// Funnel is the furthest funnel stage reached (see FunnelStage).
	Funnel string `json:"funnel,omitempty"`
	// Segments are the ids of the segments the profile was in when last
	// evaluated, sorted.
	Segments []string `json:"segments,omitempty"`
	// Campaigns are the visitor's exposures to campaigns, by campaign id.
	Campaigns map[string]*Exposure `json:"campaigns,omitempty"`
	// Counted names, for each funnel stage the profile reached, the funnel
	// aggregate it was counted in, so that the count can be taken back
	// when the profile turns out to be part of another person's.
	Counted map[string]string `json:"counted,omitempty"`

	// Version counts the changes made to the profile.
	Version int64 `json:"version"`
	// Recent holds the most recent message ids applied, each prefixed with
	// the kind of hit ("p:" page or screen, "v:" Product Viewed, "o:"
	// other) so that an overlap can be taken back when two profiles merge.
	Recent []string `json:"recent,omitempty"`
	// Merged lists the keys of the profiles absorbed into this one.
	Merged []string `json:"merged,omitempty"`
}

// New returns an empty profile owned by key with the given id.
func New(id, key string) *Profile {
	return &Profile{ID: id, Key: key, IDs: []string{key}}
}

// HasID reports whether the profile is known by identifier id.
func (p *Profile) HasID(id string) bool { return slices.Contains(p.IDs, id) }

// AddID links identifier id to the profile and reports whether it was new.
func (p *Profile) AddID(id string) bool {
	if p.HasID(id) {
		return false
	}
	p.IDs = append(p.IDs, id)
	p.advance()
	p.Version++
	return true
}

// Apply adds a hit to the profile. It reports false, and changes nothing,
// when the hit's message id was already applied.
//
// The hit's time is its timestamp, else the time the collector received
// it. Hits are placed by that time, whatever order they arrive in: see
// [Sessions], [Interests], [Cart] and [Orders] for how each treats a late
// one.
func (p *Profile) Apply(e *event.Event) bool {
	tag := recentTag(e)
	if e.MessageID != "" {
		if slices.Contains(p.Recent, tag) {
			return false
		}
		p.Recent = append(p.Recent, tag)
		if len(p.Recent) > RecentCap {
			p.Recent = slices.Delete(p.Recent, 0, len(p.Recent)-RecentCap)
		}
	}
	p.Events++
	if e.Type == event.TypePage || e.Type == event.TypeScreen {
		p.PageViews++
	}
	ts := e.Timestamp
	if ts.IsZero() {
		ts = e.ReceivedAt
	}
	ts = ts.UTC()
	p.qualify(e, ts.IsZero() || !ts.Before(p.LastSeen))
	p.seen(ts)
	if e.Type == event.TypeIdentify && len(e.Traits) > 0 {
		if p.Traits == nil {
			p.Traits = make(map[string]any, len(e.Traits))
		}
		for k, v := range e.Traits {
			if strings.EqualFold(k, "email") {
				continue // stored hashed as an identifier, never in clear
			}
			p.Traits[k] = v
		}
	}
	if !ts.IsZero() && activity(e) {
		p.touch(e, ts, p.Sessions.add(ts))
	}
	orders, revenue := p.Orders.Count, p.Orders.Revenue
	p.commerce(e, ts)
	if p.Orders.Count > orders {
		p.attribute(ts, p.Orders.Revenue-revenue)
	}
	p.expose(e, ts)
	p.advance()
	p.Version++
	return true
}

func (p *Profile) seen(ts time.Time) {
	if ts.IsZero() {
		return
	}
	ts = ts.UTC()
	if p.FirstSeen.IsZero() || ts.Before(p.FirstSeen) {
		p.FirstSeen = ts
	}
	if ts.After(p.LastSeen) {
		p.LastSeen = ts
	}
}

// Absorb merges other, a profile of the same person, into p. It reports
// false when other was absorbed before. Hits that both profiles counted
// (a retry that reached each) are counted once, and so are orders both
// remember by order id.
//
// The merge: the earliest first touch and the latest last touch; the
// device, locale and site of the profile seen last; sessions joined where
// they overlap (see [Sessions]); counters summed; interests decayed to a
// common time and added; recent items, products bought and recent orders
// united within their bounds; the cart changed last; traits of p first.
// What the bounded histories no longer hold cannot be matched: an order
// both counted that neither remembers is counted twice, and the interest
// a retried hit added to both is added twice.
func (p *Profile) Absorb(other *Profile) bool {
	if slices.Contains(p.Merged, other.Key) {
		return false
	}
	p.Merged = append(p.Merged, other.Key)
	events, pages, views := other.Events, other.PageViews, other.ProductViews
	var added []string
	for _, tag := range other.Recent {
		if slices.Contains(p.Recent, tag) {
			events--
			switch tag[0] {
			case 'p':
				pages--
			case 'v':
				views--
			}
			continue
		}
		added = append(added, tag)
	}
	// The other's ids go before p's own, so that p's newest stay known.
	p.Recent = append(added, p.Recent...)
	if len(p.Recent) > RecentCap {
		p.Recent = slices.Delete(p.Recent, 0, len(p.Recent)-RecentCap)
	}
	p.Events += max(events, 0)
	p.PageViews += max(pages, 0)
	p.ProductViews += max(views, 0)
	p.absorbQualification(other) // before seen: it compares the last seen times
	p.seen(other.FirstSeen)
	p.seen(other.LastSeen)
	for _, id := range other.IDs {
		p.AddID(id)
	}
	for k, v := range other.Traits {
		if p.Traits == nil {
			p.Traits = map[string]any{}
		}
		if _, ok := p.Traits[k]; !ok {
			p.Traits[k] = v
		}
	}
	p.Sessions.absorb(&other.Sessions)
	p.absorbTouches(other)
	p.ProductInterest.absorb(&other.ProductInterest, ProductInterestCap)
	p.CategoryInterest.absorb(&other.CategoryInterest, CategoryInterestCap)
	for _, it := range other.RecentItems {
		p.RecentItems = addRecentItem(p.RecentItems, it.ID, it.At)
	}
	p.Orders.absorb(&other.Orders)
	p.absorbCart(other)
	if FunnelRank(other.Funnel) > FunnelRank(p.Funnel) {
		p.Funnel = other.Funnel
	}
	p.advance()
	p.Merged = append(p.Merged, other.Merged...)
	for id, x := range other.Campaigns {
		if _, ok := p.Campaigns[id]; !ok && len(p.Campaigns) < MaxCampaigns {
			if p.Campaigns == nil {
				p.Campaigns = map[string]*Exposure{}
			}
			cp := *x
			p.Campaigns[id] = &cp
		}
	}
	p.Version++
	return true
}

func recentTag(e *event.Event) string {
	switch {
	case e.Type == event.TypePage || e.Type == event.TypeScreen:
		return "p:" + e.MessageID
	case e.Type == event.TypeTrack && eventName(e.Event) == EventProductViewed:
		return "v:" + e.MessageID
	}
	return "o:" + e.MessageID
}
