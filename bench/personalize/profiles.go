package main

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/stats"
)

const day = 24 * time.Hour

// Where visitors come from: a touch and how often it starts a visit.
var touches = []struct {
	touch  profile.Touch
	weight int
}{
	{profile.Touch{Source: "google.com", Referrer: "google.com", Channel: profile.ChannelSearch}, 35},
	{profile.Touch{Channel: profile.ChannelDirect}, 25},
	{profile.Touch{Source: "newsletter", Medium: "email", Campaign: "weekly", Channel: profile.ChannelEmail}, 12},
	{profile.Touch{Source: "google", Medium: "cpc", Campaign: "brand", Channel: profile.ChannelPaid}, 10},
	{profile.Touch{Source: "instagram.com", Referrer: "instagram.com", Channel: profile.ChannelSocial}, 8},
	{profile.Touch{Source: "runnersblog.example", Referrer: "runnersblog.example", Channel: profile.ChannelReferral}, 6},
	{profile.Touch{Source: "partner", Medium: "affiliate", Campaign: "spring", Channel: profile.ChannelCampaign}, 4},
}

var devices = []profile.Device{
	{Type: "mobile", Browser: "Safari", OS: "iOS"},
	{Type: "mobile", Browser: "Chrome", OS: "Android"},
	{Type: "desktop", Browser: "Chrome", OS: "Windows"},
	{Type: "desktop", Browser: "Safari", OS: "Mac OS X"},
	{Type: "desktop", Browser: "Firefox", OS: "Linux"},
	{Type: "tablet", Browser: "Safari", OS: "iOS"},
}

var locales = []string{"en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "it-IT", "nl-NL"}

var firstNames = []string{"Alice", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Kenji", "Léa"}

// profileKey returns the identifier that owns visitor i's profile: the user
// id once the visitor logged in, else the anonymous id.
func (w *world) profileKey(i int) string {
	if w.identified(i) {
		return identity.User(userID(i))
	}
	return identity.Anonymous(w.anonID(i))
}

// identifiers appends visitor i's identifiers to ids: the anonymous id,
// and for an identified visitor the user id, the hashed email and, for
// some, a second device.
func (w *world) identifiers(ids []string, i int) []string {
	ids = append(ids, identity.Anonymous(w.anonID(i)))
	if !w.identified(i) {
		return ids
	}
	email, _ := identity.Email("cust" + strconv.Itoa(i) + "@example.com")
	ids = append(ids, identity.User(userID(i)), email)
	if mix(w.seed^0xd0d0, uint64(i))%10 < 3 {
		ids = append(ids, identity.Anonymous(w.otherDeviceID(i)))
	}
	return ids
}

// pareto draws from a Pareto distribution of minimum 1 and index alpha:
// most draws are small, a few large.
func pareto(r *rand.Rand, alpha float64) float64 {
	return math.Pow(1-r.Float64(), -1/alpha)
}

// profile returns visitor i's profile as the profiler would have
// published it: identification, touches, device, sessions, interests and
// recent items, cart, orders, campaign exposures and the bookkeeping
// (recent message ids, funnel counts). r is reseeded for i, so the same
// visitor always gets the same profile.
func (w *world) profile(i int, pcg *rand.PCG, r *rand.Rand) *profile.Profile {
	pcg.Seed(w.seed, uint64(i))
	key := w.profileKey(i)
	p := &profile.Profile{ID: identity.ProfileID(key), Key: key, IDs: w.identifiers(nil, i), SiteID: "demo"}
	identified := p.Identified()

	// Activity: most visitors came once or twice, a few very often.
	sessions := min(int64(pareto(r, 1.3)), 400)
	perSession := 2 + r.Int64N(9)
	p.Events = sessions * perSession
	p.PageViews = p.Events * 6 / 10
	p.ProductViews = max(p.Events*3/10, 1)
	p.LastSeen = w.now.Add(-time.Duration(r.ExpFloat64() * float64(20*day))).Truncate(time.Millisecond)
	if p.LastSeen.Before(w.now.Add(-365 * day)) {
		p.LastSeen = w.now.Add(-365 * day)
	}
	// Sessions spread over span before LastSeen; the profile remembers the
	// latest SessionCap.
	span := time.Duration(0)
	if sessions > 1 {
		span = min(time.Duration(sessions)*time.Duration(r.Int64N(int64(5*day))), 700*day).Truncate(time.Millisecond)
	}
	p.Sessions.Count = sessions
	for s := max(sessions-profile.SessionCap, 0); s < sessions; s++ {
		end := p.LastSeen.Add(-time.Duration(sessions-1-s) * (span / time.Duration(sessions)).Truncate(time.Millisecond))
		p.Sessions.Recent = append(p.Sessions.Recent, profile.Session{Start: end.Add(-time.Duration(1+r.IntN(30)) * time.Minute), End: end})
	}
	p.FirstSeen = p.Sessions.Recent[0].Start
	if sessions > profile.SessionCap {
		p.FirstSeen = p.LastSeen.Add(-span - 30*time.Minute)
	}

	first := touches[weighted(r)].touch
	last := first
	if sessions > 1 {
		last = touches[weighted(r)].touch
	}
	first.At, last.At = p.FirstSeen, p.Sessions.Current().Start
	p.FirstTouch, p.LastTouch = first, last
	p.Device = devices[r.IntN(len(devices))]
	p.Locale = locales[r.IntN(len(locales))]
	if identified {
		p.Traits = map[string]any{
			"firstName":  firstNames[i%len(firstNames)],
			"plan":       []string{"free", "member", "plus"}[r.IntN(3)],
			"newsletter": r.IntN(2) == 0,
		}
	}

	// Interests: one to three favourite categories; most views there.
	favs := make([]int, 1+r.IntN(3))
	for f := range favs {
		favs[f] = int(w.itemCat[w.pop.sample(r)])
	}
	viewed := min(int(p.ProductViews), profile.ProductInterestCap)
	var seen []int
	at := p.LastSeen
	for range viewed {
		k := w.pop.sample(r)
		if r.IntN(10) < 7 {
			k = w.itemFrom(r, favs[r.IntN(len(favs))])
		}
		seen = append(seen, k)
		id := itemID(k)
		if len(p.RecentItems) < profile.RecentItemsCap && !hasRecent(p.RecentItems, id) {
			p.RecentItems = append(p.RecentItems, profile.RecentItem{ID: id, At: at})
		}
		if p.ProductInterest.Scores == nil {
			p.ProductInterest = profile.Interests{AsOf: p.LastSeen, Scores: map[string]float64{}}
			p.CategoryInterest = profile.Interests{AsOf: p.LastSeen, Scores: map[string]float64{}}
		}
		score := round6(profile.WeightViewed * math.Exp2(-float64(p.LastSeen.Sub(at))/float64(profile.HalfLife)))
		p.ProductInterest.Scores[id] += score
		p.CategoryInterest.Scores[w.category(k)] += score + profile.WeightListViewed
		at = at.Add(-time.Duration(1+r.IntN(600)) * time.Second)
	}

	// The cart: some left items in it.
	if r.IntN(100) < 15 && len(seen) > 0 {
		for range 1 + r.IntN(3) {
			k := seen[r.IntN(len(seen))]
			p.Cart.Lines = append(p.Cart.Lines, profile.CartLine{
				ProductID: itemID(k), Name: w.itemName(k), Category: w.category(k), Price: itemPrice(w.seed, k), Quantity: 1 + r.IntN(2)})
			p.Cart.Value += itemPrice(w.seed, k) * float64(p.Cart.Lines[len(p.Cart.Lines)-1].Quantity)
		}
		p.Cart.Value = math.Round(p.Cart.Value*100) / 100
		p.Cart.UpdatedAt = p.LastSeen.Add(-time.Duration(r.IntN(60)) * time.Minute)
		if r.IntN(3) == 0 {
			p.Cart.CheckoutAt = p.Cart.UpdatedAt
		}
	}

	// Orders: most customers are identified.
	if buyer := identified && r.IntN(100) < 60 || !identified && r.IntN(100) < 5; buyer {
		w.orders(p, i, r, seen)
	}

	// Campaigns seen lately, for the frequency caps.
	if r.IntN(100) < 20 {
		p.Campaigns = map[string]*profile.Exposure{"welcome": exposure(r, p.LastSeen, 0.05)}
	}
	if len(p.Cart.Lines) > 0 && r.IntN(100) < 50 {
		if p.Campaigns == nil {
			p.Campaigns = map[string]*profile.Exposure{}
		}
		p.Campaigns["cart-rescue"] = exposure(r, p.LastSeen, 0.1)
	}
	p.Segments = segmentsOf(p)

	// Bookkeeping: the funnel, its counts, the last message ids.
	p.Funnel = p.FunnelStage()
	p.Counted = map[string]string{}
	fid := stats.FunnelID(p.SiteID, p.FirstSeen.Format(time.DateOnly), first.Channel)
	for s := range profile.FunnelRank(p.Funnel) + 1 {
		p.Counted[[]string{profile.FunnelVisitor, profile.FunnelEngaged, profile.FunnelIdentified, profile.FunnelCustomer, profile.FunnelRepeat}[s]] = fid
	}
	for n := range min(p.Events, profile.RecentCap) {
		tag := "p:"
		switch n % 3 {
		case 1:
			tag = "v:"
		case 2:
			tag = "o:"
		}
		p.Recent = append(p.Recent, tag+uuid(w.seed^uint64(i), uint64(n)))
	}
	if identified {
		p.Merged = []string{identity.Anonymous(w.anonID(i))}
	}
	p.Version = p.Events + int64(len(p.IDs))
	return p
}

// orders gives p a purchase history: orders over its visits, products
// bought among those it viewed and the shop's popular ones.
func (w *world) orders(p *profile.Profile, i int, r *rand.Rand, seen []int) {
	o := &p.Orders
	o.Count = min(int64(pareto(r, 1.6)), min(p.Sessions.Count, 60))
	o.Currency = "EUR"
	o.Last = p.LastSeen.Add(-time.Duration(r.IntN(int(max(p.LastSeen.Sub(p.FirstSeen)/time.Minute, 1)))) * time.Minute)
	o.First = o.Last
	if o.Count > 1 {
		o.First = p.FirstSeen
	}
	gap := o.Last.Sub(o.First) / time.Duration(max(o.Count-1, 1))
	for n := int64(0); n < o.Count; n++ {
		at := o.First.Add(time.Duration(n) * gap)
		revenue := 0.0
		for range 1 + r.IntN(3) {
			k := w.pop.sample(r)
			if len(seen) > 0 && r.IntN(2) == 0 {
				k = seen[r.IntN(len(seen))]
			}
			revenue += itemPrice(w.seed, k)
			if id := itemID(k); !o.HasBought(id) {
				o.Bought = append(o.Bought, id)
				if len(o.Bought) > profile.BoughtCap {
					o.Bought = o.Bought[1:]
				}
			}
		}
		revenue = math.Round(revenue*100) / 100
		o.Revenue += revenue
		if o.Count-n <= profile.OrderCap {
			o.Recent = append(o.Recent, profile.Order{ID: "ord-" + strconv.Itoa(i) + "-" + strconv.FormatInt(n, 10), At: at, Revenue: revenue})
		}
	}
	o.Revenue = math.Round(o.Revenue*100) / 100
	if len(p.Cart.Lines) > 0 && o.Last.After(p.Cart.UpdatedAt) {
		p.Cart = profile.Cart{UpdatedAt: o.Last} // an order empties the cart
	}
}

// exposure returns a few exposures to a campaign up to last, in the
// holdout group with probability holdout.
func exposure(r *rand.Rand, last time.Time, holdout float64) *profile.Exposure {
	group := "treatment"
	if r.Float64() < holdout {
		group = "holdout"
	}
	return &profile.Exposure{Group: group, First: last.Add(-time.Duration(r.IntN(10)) * day), Last: last, Count: 1 + r.IntN(4)}
}

// segmentsOf returns the ids of the segments the profiler would have put
// p in, sorted.
func segmentsOf(p *profile.Profile) []string {
	var s []string
	if len(p.Cart.Lines) > 0 {
		s = append(s, "cart-abandoners")
	}
	if p.Orders.Count >= 3 {
		s = append(s, "loyal")
	}
	if p.Sessions.Count >= 5 {
		s = append(s, "regulars")
	}
	return s
}

func hasRecent(items []profile.RecentItem, id string) bool {
	for _, it := range items {
		if it.ID == id {
			return true
		}
	}
	return false
}

// weighted draws a touch by weight.
func weighted(r *rand.Rand) int {
	n := r.IntN(100)
	for i, t := range touches {
		if n < t.weight {
			return i
		}
		n -= t.weight
	}
	return len(touches) - 1
}

// round6 rounds to 6 significant digits, as profiles store scores.
func round6(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 6, 64), 64)
	return v
}
