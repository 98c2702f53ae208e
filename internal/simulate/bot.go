package simulate

import "time"

// botSession is a crawler's visit: it renders pages one after the other,
// keeping no storage, so every page has a new anonymous id.
func (g *Generator) botSession(now time.Time) *session {
	g.stats.BotSessions++
	ua := botAgents.pick(g.rng)
	s := &session{bot: true, ua: ua, locale: "en-US", d: &device{kind: "bot", ua: ua},
		t:        g.at(now.Add(time.Duration(g.rng.Float64() * float64(10*time.Minute)))),
		maxPages: 3 + g.rng.IntN(18)}
	return s
}

func (g *Generator) botStep(s *session) {
	g.wait(s, 1, 8)
	g.resetDevice(s.d)
	s.id = float64(s.t.UnixMilli())
	s.cat = g.rng.IntN(len(g.cat.categories))
	if g.rng.Float64() < 0.7 {
		s.prod = g.cat.byCategory[s.cat][g.rng.IntN(len(g.cat.byCategory[s.cat]))]
		s.page = g.pageOf(s, pageProduct)
		g.page(s)
		g.track(s, "Product Viewed", g.product(s.prod, 1, 0, true))
	} else {
		s.page = g.pageOf(s, pageCategory)
		g.page(s)
		name := g.cat.categories[s.cat]
		g.track(s, "Product List Viewed", map[string]any{"list_id": name, "category": name, "products": g.list(g.cat.byCategory[s.cat])})
	}
	s.pages++
	s.ended = s.pages >= s.maxPages
}
