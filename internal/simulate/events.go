package simulate

import (
	"math"
	"net/url"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// shopTitle ends every page title, as in the demo shop.
const shopTitle = "ecrm demo shop"

// library names the sender in each event's context.
func library() map[string]any { return map[string]any{"name": "ecrm-simulate", "version": "1"} }

// pageInfo is the page a session is on, as the tag reports it.
type pageInfo struct {
	url, path, search, title, referrer string
}

// pageAt returns the page name (index.html, product.html, ...) under the
// site with query q.
func (g *Generator) pageAt(name string, q url.Values, title string) pageInfo {
	u := g.site.JoinPath(name)
	u.RawQuery = q.Encode()
	p := pageInfo{url: u.String(), path: u.Path, title: title}
	if u.RawQuery != "" {
		p.search = "?" + u.RawQuery
	}
	return p
}

func (g *Generator) productURL(id string) string {
	u := g.site.JoinPath("product.html")
	u.RawQuery = url.Values{"id": {id}}.Encode()
	return u.String()
}

// pageMap is the page as the tag puts it in context.page and in a page
// event's properties.
func (p pageInfo) pageMap() map[string]any {
	return map[string]any{"path": p.path, "referrer": p.referrer, "search": p.search, "title": p.title, "url": p.url}
}

// emit adds an event of the session at its current time, with the
// context the tag would send, and returns it.
func (g *Generator) emit(s *session, typ string) *event.Event {
	ctx := map[string]any{
		"page":      s.page.pageMap(),
		"userAgent": s.ua,
		"locale":    s.locale,
		"library":   library(),
		"consent":   map[string]any{"categoryPreferences": map[string]any{"analytics": true}},
		"sessionId": s.id,
	}
	if s.campaign != nil {
		c := make(map[string]any, len(s.campaign))
		for k, v := range s.campaign {
			c[k] = v
		}
		ctx["campaign"] = c
	}
	e := &event.Event{
		Type:        typ,
		MessageID:   newUUID(g.msg),
		AnonymousID: s.d.anonID,
		UserID:      s.d.userID,
		Timestamp:   g.at(s.t).Truncate(time.Millisecond),
		Context:     ctx,
	}
	s.pending = append(s.pending, e)
	return e
}

// page adds the page event of the session's current page.
func (g *Generator) page(s *session) *event.Event {
	e := g.emit(s, event.TypePage)
	e.Properties = s.page.pageMap()
	return e
}

// track adds a track event named name.
func (g *Generator) track(s *session, name string, props map[string]any) *event.Event {
	g.wait(s, 0.3, 6)
	e := g.emit(s, event.TypeTrack)
	e.Event = name
	if props == nil {
		props = map[string]any{}
	}
	e.Properties = props
	return e
}

// identify adds an identify event: with the device's user id when logged
// in, else with traits alone (a guest's email).
func (g *Generator) identify(s *session) *event.Event {
	g.wait(s, 0.2, 2)
	e := g.emit(s, event.TypeIdentify)
	v := s.v
	e.Traits = map[string]any{"email": v.email, "name": v.name}
	if v.subscriber {
		e.Traits["newsletter"] = true
	}
	return e
}

// wait moves the session's clock on by lo to hi seconds.
func (g *Generator) wait(s *session, lo, hi float64) {
	s.t = s.t.Add(time.Duration((lo + (hi-lo)*g.rng.Float64()) * float64(time.Second)))
}

// product returns product i as e-commerce events carry it; lists leave
// the image out to stay small, as the demo shop does.
func (g *Generator) product(i, qty, position int, image bool) map[string]any {
	p := &g.cat.products[i]
	m := map[string]any{
		"product_id": p.ID, "name": p.Name, "category": p.Category,
		"price": p.Price, "currency": p.Currency, "quantity": float64(qty),
		"url": g.productURL(p.ID),
	}
	if p.SKU != "" {
		m["sku"] = p.SKU
	}
	if image && p.Image != "" {
		m["image"] = p.Image
	}
	if position > 0 {
		m["position"] = float64(position)
	}
	return m
}

// maxListed bounds the products a list event carries.
const maxListed = 48

func (g *Generator) list(ids []int) []any {
	out := make([]any, 0, min(len(ids), maxListed))
	for i, id := range ids[:min(len(ids), maxListed)] {
		out = append(out, g.product(id, 1, i+1, false))
	}
	return out
}

func (g *Generator) cartProducts(lines []cartLine) ([]any, float64) {
	out := make([]any, 0, len(lines))
	sum := 0.0
	for i, l := range lines {
		out = append(out, g.product(l.p, l.qty, i+1, true))
		sum += g.cat.products[l.p].Price * float64(l.qty)
	}
	return out, cents(sum)
}

func cents(x float64) float64 { return math.Round(x*100) / 100 }
