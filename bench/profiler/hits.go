package main

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/ecrm/ecrm/internal/enrich"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/simulate"
	"github.com/ecrm/ecrm/internal/site"
)

// siteOrigin is the shop's origin: page URLs, the Origin header.
const siteOrigin = "https://shop.example"

// isoMillis is the tag's timestamp format, Date.prototype.toISOString.
const isoMillis = "2006-01-02T15:04:05.000Z"

// Shares of the hit mix, each the chance of a hit of a visitor who can
// send it (Order Completed needs a cart, identify an account not yet
// logged in on this device).
const (
	shareMembers  = 0.30 // visitors with an account (user id and email)
	shareLogin    = 0.15 // of a member's hits while not logged in: identify
	shareNoUser   = 0.20 // of a logged-in member's hits: without the user id (forwarded)
	shareOrder    = 0.02 // of hits with a cart: Order Completed
	shareAdded    = 0.04 // Product Added
	shareViewed   = 0.30 // Product Viewed
	shareCampaign = 0.10 // hits landing from a campaign (context.campaign)
)

// browsers are the User-Agents the visitors' browsers send: desktop and
// mobile Chrome, Safari, Firefox and Edge. None is a bot.
var browsers = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
}

// locales are the browsers' languages.
var locales = []string{"en-US", "en-GB", "de-DE", "fr-FR", "es-ES"}

// pages are the shop's pages other than products': path, title, referrer.
var pages = []struct{ path, title, referrer string }{
	{"/", "Shop | Everyday gear", "https://www.google.com/"},
	{"/category/shoes", "Shoes | Shop", siteOrigin + "/"},
	{"/category/apparel", "Apparel | Shop", siteOrigin + "/"},
	{"/search?q=running", "Search: running | Shop", siteOrigin + "/"},
	{"/cart", "Your cart | Shop", siteOrigin + "/"},
	{"/account", "Your account | Shop", siteOrigin + "/cart"},
	{"/blog/choosing-shoes", "How to choose shoes | Shop", "https://mail.example.com/"},
}

// campaigns are the campaigns visitors land from.
var campaigns = []map[string]any{
	{"source": "newsletter", "medium": "email", "name": "spring-sale"},
	{"source": "google", "medium": "cpc", "name": "brand"},
	{"source": "instagram", "medium": "social", "name": "new-in"},
}

// agent is a browser's User-Agent and what the collector makes of it.
type agent struct {
	ua     string
	parsed event.UA
}

// visitor is one browser of the shop, and its account if it has one.
type visitor struct {
	anonymousID string // the tag's id, a UUID
	vid         string // the collector's ecrm_vid cookie, 32 hex digits
	userID      string // "" for a guest
	email, name string
	agent       int
	locale      string
	sessionID   int64 // the session's start, ms since the epoch
	loggedIn    bool  // identify was sent: later hits carry the user id
	lastProduct int   // index in the catalog, -1: none
	cart        []int
}

// kinds of hit, for the counts printed.
const (
	kindPage = iota
	kindViewed
	kindAdded
	kindIdentify
	kindOrder
	kindProbe
	numKinds
)

var kindNames = [numKinds]string{"page", "product_viewed", "product_added", "identify", "order_completed", "probe"}

// generator makes the hits of a population of visitors, as the browser tag
// sends them. It is safe for concurrent use.
type generator struct {
	mu       sync.Mutex
	r        *rand.Rand
	run      string // prefix of messageIds, order ids and probe ids: unique per run
	seq      uint64
	visitors []visitor
	products []simulate.Product
	agents   []agent
	counts   [numKinds]int
}

// newGenerator returns a generator of n visitors, the same every run but
// for the ids that must be unique (messageIds, order ids, probes).
func newGenerator(n int) (*generator, error) {
	products, err := simulate.DemoCatalog()
	if err != nil {
		return nil, err
	}
	var run [6]byte
	for i := range run {
		run[i] = byte(rand.Uint32())
	}
	g := &generator{r: rand.New(rand.NewPCG(1, 2)), run: hex.EncodeToString(run[:]), products: products}
	parser := enrich.NewParser(0)
	for _, ua := range browsers {
		u := parser.Parse(ua)
		if u.Bot {
			return nil, fmt.Errorf("user agent %q parses as a bot", ua)
		}
		g.agents = append(g.agents, agent{ua: ua, parsed: event.UA{Browser: u.Browser, Version: u.Version, OS: u.OS, Device: u.Device}})
	}
	start := time.Now().Add(-2 * time.Hour).UnixMilli()
	g.visitors = make([]visitor, n)
	for i := range g.visitors {
		v := &g.visitors[i]
		v.anonymousID = newUUID(g.r)
		v.vid = fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())
		v.agent = g.r.IntN(len(g.agents))
		v.locale = locales[g.r.IntN(len(locales))]
		v.sessionID = start + g.r.Int64N(2*3_600_000)
		v.lastProduct = -1
		if g.r.Float64() < shareMembers {
			v.userID = "user-" + strconv.Itoa(i)
			v.email = "customer" + strconv.Itoa(i) + "@example.com"
			v.name = "Customer " + strconv.Itoa(i)
		}
	}
	return g, nil
}

// newUUID returns a random version-4 UUID.
func newUUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// hit is one generated event and who sent it.
type hit struct {
	e     *event.Event
	v     *visitor // nil for a probe
	agent *agent
}

// next returns the next hit of a visitor, as the tag sends it, timestamped
// ts: no server fields, no sentAt.
func (g *generator) next(ts time.Time) hit {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := &g.visitors[g.r.IntN(len(g.visitors))]
	e := g.base(v, ts)
	switch x := g.r.Float64(); {
	case v.userID != "" && !v.loggedIn && x < shareLogin:
		v.loggedIn = true
		e.Type, e.UserID = event.TypeIdentify, v.userID
		e.Traits = map[string]any{"email": v.email, "name": v.name, "plan": "member"}
		g.counts[kindIdentify]++
	case len(v.cart) > 0 && x < shareOrder:
		g.order(v, e)
		g.counts[kindOrder]++
	case x < shareAdded:
		p := v.lastProduct
		if p < 0 {
			p = g.r.IntN(len(g.products))
		}
		v.cart = append(v.cart, p)
		e.Type, e.Event, e.Properties = event.TypeTrack, "Product Added", g.product(p, 1)
		g.counts[kindAdded]++
	case x < shareAdded+shareViewed:
		p := g.r.IntN(len(g.products))
		v.lastProduct = p
		e.Type, e.Event, e.Properties = event.TypeTrack, "Product Viewed", g.product(p, 0)
		e.Context["page"] = pageMap("/product/"+g.products[p].ID, g.products[p].Name+" | Shop", siteOrigin+"/category/"+g.products[p].Category)
		g.counts[kindViewed]++
	default:
		pg := pages[g.r.IntN(len(pages))]
		e.Type, e.Name = event.TypePage, pg.title
		e.Properties = pageMap(pg.path, pg.title, pg.referrer)
		e.Context["page"] = pageMap(pg.path, pg.title, pg.referrer)
		g.counts[kindPage]++
	}
	return hit{e: e, v: v, agent: &g.agents[v.agent]}
}

// probe returns a page view of a browser never seen before, whose
// anonymous id the freshness phase looks for.
func (g *generator) probe(ts time.Time) hit {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := &visitor{anonymousID: "probe-" + g.run + "-" + strconv.FormatUint(g.seq, 10), agent: 0, locale: "en-US", sessionID: ts.UnixMilli()}
	e := g.base(v, ts)
	e.Type, e.Name = event.TypePage, pages[0].title
	e.Properties = pageMap(pages[0].path, pages[0].title, pages[0].referrer)
	e.Context["page"] = pageMap(pages[0].path, pages[0].title, pages[0].referrer)
	g.counts[kindProbe]++
	return hit{e: e, agent: &g.agents[v.agent]}
}

// base returns the fields every hit of v has. g.mu must be held.
func (g *generator) base(v *visitor, ts time.Time) *event.Event {
	g.seq++
	e := &event.Event{
		MessageID:   "bench-" + g.run + "-" + strconv.FormatUint(g.seq, 10),
		AnonymousID: v.anonymousID,
		Timestamp:   ts,
		Context: map[string]any{
			"userAgent": g.agents[v.agent].ua,
			"locale":    v.locale,
			"library":   map[string]any{"name": "ecrm.js", "version": "0.1.0"},
			"sessionId": float64(v.sessionID),
		},
	}
	if v.loggedIn && g.r.Float64() >= shareNoUser {
		e.UserID = v.userID
	}
	if g.r.Float64() < shareCampaign {
		e.Context["campaign"] = campaigns[g.r.IntN(len(campaigns))]
	}
	return e
}

// product returns the properties of an event about product i; a quantity
// of 0 leaves it out.
func (g *generator) product(i, qty int) map[string]any {
	p := &g.products[i]
	m := map[string]any{
		"product_id": p.ID, "sku": p.SKU, "name": p.Name, "category": p.Category,
		"price": p.Price, "currency": p.Currency, "url": siteOrigin + "/product/" + p.ID,
	}
	if qty > 0 {
		m["quantity"] = float64(qty)
	}
	return m
}

// order makes e v's Order Completed of its cart, which it empties.
func (g *generator) order(v *visitor, e *event.Event) {
	items := make([]any, 0, len(v.cart))
	total := 0.0
	for _, p := range v.cart {
		items = append(items, g.product(p, 1))
		total += g.products[p].Price
	}
	e.Type, e.Event = event.TypeTrack, "Order Completed"
	e.Properties = map[string]any{
		"order_id": "order-" + g.run + "-" + strconv.FormatUint(g.seq, 10),
		"revenue":  float64(int(total*100)) / 100, "currency": "EUR", "products": items,
	}
	e.Context["page"] = pageMap("/checkout/complete", "Thank you | Shop", siteOrigin+"/checkout")
	v.cart = v.cart[:0]
}

func pageMap(path, title, referrer string) map[string]any {
	return map[string]any{"path": path, "title": title, "referrer": referrer, "url": siteOrigin + path}
}

// collected adds to h's event what the collector adds when it accepts it
// at receivedAt for the demo site.
func collected(h hit, receivedAt time.Time) {
	e := h.e
	e.SentAt = receivedAt.Add(-40 * time.Millisecond)
	e.ReceivedAt = receivedAt
	e.SiteID = site.Demo.ID
	if h.v != nil {
		e.VisitorID = h.v.vid
	}
	e.IP = "198.51.100.0"
	ua := h.agent.parsed
	e.UA = &ua
	e.Bot = false
}

// appendBody appends the body the tag posts to /v1/batch for h: the write
// key, sentAt and a batch of h's event.
func appendBody(dst []byte, h hit, sentAt time.Time) ([]byte, error) {
	b := append(dst, `{"writeKey":"`...)
	b = append(b, site.Demo.WriteKey...)
	b = append(b, `","sentAt":"`...)
	b = sentAt.UTC().AppendFormat(b, isoMillis)
	b = append(b, `","batch":[`...)
	b, err := h.e.AppendJSON(b)
	if err != nil {
		return dst, fmt.Errorf("encode hit: %w", err)
	}
	return append(b, "]}"...), nil
}

// mix returns the counts of hits made so far, by kind.
func (g *generator) mix() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := ""
	for k, n := range g.counts {
		if n > 0 {
			s += fmt.Sprintf(" %s=%d", kindNames[k], n)
		}
	}
	return s
}

// resetMix sets the counts of hits made to zero.
func (g *generator) resetMix() {
	g.mu.Lock()
	g.counts = [numKinds]int{}
	g.mu.Unlock()
}
