package simulate

import (
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// Pages of the shop a session moves through.
const (
	pageHome = iota
	pageCategory
	pageSearch
	pageProduct
	pageCart
	pageCheckout
	pageOrder
	pageLogin
	pageEnd
)

// What a visit is for.
const (
	intentBrowse  = iota
	intentBuy     // means to order: adds until the basket budget is spent
	intentRecover // comes back for the cart left last time
)

// session is one visit of one device: a walk through the shop's pages.
type session struct {
	v   *visitor // nil for a bot
	d   *device
	bot bool

	ua, vid, locale string
	t               time.Time // the simulated time of the latest event
	id              float64   // the tag's session id: its start in ms
	campaign        map[string]any
	newsletter      string // the newsletter clicked to land, if any
	external        string // the referrer of the landing page
	landing         url.Values

	intent          int
	pages, maxPages int
	next            int // the page loaded next
	afterLogin      int // where the login page leads
	cat, prod       int // category and product the next page is about
	query           string
	orderID         string
	budget          float64

	page    pageInfo
	ended   bool
	pending []*event.Event
}

// startSession begins a visit at the simulated clock: a bot's, or a
// visitor's, new or returning.
func (g *Generator) startSession() *session {
	now := g.clock()
	g.stats.Sessions++
	if g.rng.Float64() < botShare {
		return g.botSession(now)
	}
	v := g.pickVisitor(now)
	returning := v.sessions > 0
	v.sessions++
	start := now
	if t := v.lastEnd.Add(30 * time.Minute); returning && t.After(start) {
		start = t
	}
	start = start.Add(time.Duration(g.rng.Float64() * float64(10*time.Minute)))
	s := &session{v: v, t: g.at(start), locale: v.locale}
	s.id = float64(s.t.UnixMilli())

	ch := firstChannels.pick(g.rng)
	if returning {
		ch = returnChannels.pick(g.rng)
		for i := 0; ch == chEmail && !v.subscriber; i++ {
			ch = returnChannels.pick(g.rng)
			if i == 4 {
				ch = chDirect
			}
		}
	}
	s.d = g.chooseDevice(v, ch, returning)
	s.ua, s.vid = s.d.ua, s.d.vid

	switch r := g.rng.Float64(); {
	case len(s.d.cart) > 0 && r < 0.3:
		s.intent = intentRecover
	case v.customer() && s.t.Sub(v.lastOrder) > time.Duration(0.8*v.rhythmDays*float64(24*time.Hour)) && r < 0.5:
		s.intent = intentBuy
	case g.rng.Float64() < v.propensity:
		s.intent = intentBuy
	}
	switch s.intent {
	case intentBrowse:
		s.maxPages = 1
		if g.rng.Float64() > 0.38 { // the others bounce
			s.maxPages = 2 + int(g.rng.ExpFloat64()*4)
		}
	default:
		s.maxPages = min(40, 8+int(g.rng.ExpFloat64()*8))
	}
	s.budget = lognormal(g.rng, 45*math.Pow(v.tier, 0.7), 1.0)
	g.land(s, ch)
	return s
}

// chooseDevice picks the device of a visit: the first for a new visitor;
// for a returning one mostly the usual one, and a phone for a newsletter.
func (g *Generator) chooseDevice(v *visitor, ch string, returning bool) *device {
	if !returning || len(v.devices) == 1 {
		return v.primary()
	}
	if ch == chEmail && g.rng.Float64() < 0.6 {
		for _, d := range v.devices {
			if d.kind == mobile {
				return d
			}
		}
	}
	if g.rng.Float64() < 0.65 {
		return v.primary()
	}
	return v.devices[g.rng.IntN(len(v.devices))]
}

// land sets where the visit comes from (referrer, UTM campaign, ad click
// id) and which page it lands on.
func (g *Generator) land(s *session, ch string) {
	r := g.rng
	q := url.Values{}
	utm := func(source, medium, name string) {
		q.Set("utm_source", source)
		q.Set("utm_medium", medium)
		q.Set("utm_campaign", name)
		s.campaign = map[string]any{"source": source, "medium": medium, "name": name}
	}
	s.cat = s.v.category(r)
	switch ch {
	case chSearch:
		s.external = searchReferrers.pick(r)
	case chSocial:
		s.external = socialReferrers.pick(r)
	case chReferral:
		s.external = referralReferrers.pick(r)
	case chPaid:
		if r.Float64() < 0.6 {
			s.external = "https://www.google.com/"
			ad := paidSearchAds[r.IntN(len(paidSearchAds))]
			if ad != "brand" {
				ad += "-" + g.cat.categories[s.cat]
			}
			utm("google", "cpc", ad)
			q.Set("gclid", g.hexID(12))
		} else {
			net := paidSocialNets.pick(r)
			s.external = "https://l." + net + ".com/"
			utm(net, "paid_social", paidSocialAds[r.IntN(len(paidSocialAds))])
			q.Set("fbclid", g.hexID(12))
		}
	case chEmail:
		week := s.t.Truncate(7 * 24 * time.Hour)
		name := fmt.Sprintf("%s-%s", newsletters[int(week.Unix()/(7*24*3600))%len(newsletters)], week.Format("2006-01-02"))
		utm("newsletter", "email", name)
		s.newsletter = name
		switch x := r.Float64(); {
		case x < 0.25:
			s.external = "https://mail.google.com/"
		case x < 0.4:
			s.external = "https://outlook.live.com/"
		}
	case chAffiliate:
		utm(affiliates.pick(r), "affiliate", "partner-program")
	}
	s.landing = q
	switch landings[ch].pick(r) {
	case landHome:
		s.next = pageHome
	case landCategory:
		s.next = pageCategory
	default:
		s.next = pageProduct
		s.prod = g.cat.pick(s.cat, r)
	}
}

// step loads the session's next page: its page event and what the
// visitor does there, then chooses the page after it.
func (g *Generator) step(s *session) {
	if s.bot {
		g.botStep(s)
		return
	}
	kind := s.next
	referrer := s.external
	if s.pages > 0 {
		referrer = s.page.url
		s.t = s.t.Add(time.Duration(clamp(lognormal(g.rng, 25, 0.9), 2, 900) * float64(time.Second)))
	}
	s.page = g.pageOf(s, kind)
	s.page.referrer = referrer
	s.pages++
	g.page(s)
	if s.pages == 1 && s.newsletter != "" {
		// The newsletter's link names the subscriber: an email without a login.
		e := g.track(s, "Email Link Clicked", map[string]any{"campaign_name": s.newsletter, "link_url": s.page.url})
		e.Context["traits"] = map[string]any{"email": s.v.email}
	}
	switch kind {
	case pageHome:
		all := make([]int, len(g.cat.products))
		for i := range all {
			all[i] = i
		}
		g.listed(s, "all", "", all)
	case pageCategory:
		name := g.cat.categories[s.cat]
		g.listed(s, name, name, g.cat.byCategory[s.cat])
	case pageSearch:
		found := g.cat.search(s.query)
		g.track(s, "Products Searched", map[string]any{"query": s.query, "results": float64(len(found))})
		g.listed(s, "search", "", found)
	case pageProduct:
		g.productPage(s)
	case pageCart:
		g.cartPage(s)
	case pageCheckout:
		g.checkoutPage(s)
	case pageOrder:
		s.next = pageEnd
		if g.rng.Float64() < 0.25 {
			s.next = pageHome
		}
	case pageLogin:
		s.d.userID = s.v.userID
		g.identify(s)
		g.track(s, "Signed In", map[string]any{"method": "password"})
		s.next = s.afterLogin
	}
	if s.pages == 1 && s.next != pageEnd && s.next != pageLogin {
		login := 0.3
		if s.d != s.v.primary() {
			login = 0.5 // on another device, to find their account there
		}
		switch {
		case s.intent == intentRecover:
			s.next = pageCart
		case s.v.registered && s.d.userID == "" && g.rng.Float64() < login:
			s.next, s.afterLogin = pageLogin, s.next
		}
	}
	if s.next != pageEnd && s.pages >= s.maxPages && kind != pageCheckout && kind != pageLogin {
		s.next = pageEnd
	}
	if s.next == pageEnd {
		g.leave(s)
	}
}

// pageOf returns the page of kind for the session's state.
func (g *Generator) pageOf(s *session, kind int) pageInfo {
	q := url.Values{}
	if s.pages == 0 {
		for k, v := range s.landing {
			q[k] = v
		}
	}
	switch kind {
	case pageCategory:
		q.Set("category", g.cat.categories[s.cat])
		return g.pageAt("index.html", q, shopTitle)
	case pageSearch:
		q.Set("q", s.query)
		return g.pageAt("index.html", q, shopTitle)
	case pageProduct:
		q.Set("id", g.cat.products[s.prod].ID)
		return g.pageAt("product.html", q, g.cat.products[s.prod].Name+" — "+shopTitle)
	case pageCart:
		return g.pageAt("cart.html", q, "Cart — "+shopTitle)
	case pageCheckout:
		return g.pageAt("checkout.html", q, "Checkout — "+shopTitle)
	case pageOrder:
		q.Set("id", s.orderID)
		return g.pageAt("order.html", q, "Thank you — "+shopTitle)
	case pageLogin:
		return g.pageAt("login.html", q, "Log in — "+shopTitle)
	}
	return g.pageAt("index.html", q, shopTitle)
}
