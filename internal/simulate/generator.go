package simulate

import (
	"container/heap"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// Defaults of [Config].
const (
	DefaultVisitors = 5000
	DefaultDays     = 60
	DefaultEvents   = 10000
	DefaultSiteURL  = "http://127.0.0.1:8080/demo/"
)

// ErrConfig is returned (wrapped) by [Config.Validate] when a setting
// cannot be used.
var ErrConfig = errors.New("simulate: invalid config")

// Config says what traffic a [Generator] makes. The zero value is valid:
// each zero field takes its default.
type Config struct {
	// Seed fixes the whole sequence: the same Config gives the same events.
	Seed uint64
	// RunID salts the message ids only, so that two runs with one seed
	// send the same traffic without a collector dropping the second as
	// duplicates. Empty by default.
	RunID string
	// Visitors is the size of the population (default 5000). Memory grows
	// with it, not with the number of events.
	Visitors int
	// Days is how far back the simulated history reaches (default 60).
	Days int
	// Events is how many events the run is expected to make (default
	// 10000). The simulated clock goes from Now − Days to Now over them;
	// a generator asked for more keeps making events at Now.
	Events int
	// Now is the end of the simulated history (default: when NewGenerator
	// is called). Timestamps are never after it.
	Now time.Time
	// SiteURL is the shop's base URL; pages are index.html, product.html,
	// cart.html, checkout.html, order.html and login.html under it, as in
	// the demo shop (default http://127.0.0.1:8080/demo/).
	SiteURL string
	// Catalog is the shop's products (default: the demo shop's).
	Catalog []Product
}

// Validate reports whether the configuration can be used.
func (c *Config) Validate() error {
	var errs []error
	if c.Visitors < 0 {
		errs = append(errs, errors.New("visitors must not be negative"))
	}
	if c.Days < 0 || c.Days > 3650 {
		errs = append(errs, errors.New("days must be between 1 and 3650, or 0 for the default"))
	}
	if c.Events < 0 {
		errs = append(errs, errors.New("events must not be negative"))
	}
	if c.SiteURL != "" {
		u, err := url.Parse(c.SiteURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("site URL %q is not an absolute http(s) URL", c.SiteURL))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() (Config, error) {
	if c.Visitors == 0 {
		c.Visitors = DefaultVisitors
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Events == 0 {
		c.Events = DefaultEvents
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	c.Now = c.Now.UTC().Truncate(time.Millisecond)
	if c.SiteURL == "" {
		c.SiteURL = DefaultSiteURL
	}
	if c.Catalog == nil {
		ps, err := DemoCatalog()
		if err != nil {
			return c, err
		}
		c.Catalog = ps
	}
	return c, nil
}

// Batch is what one browser sends in one request: 1 to 10 events of one
// device, with the headers a browser would add.
type Batch struct {
	Events []*event.Event
	// UserAgent is the device's browser, for the User-Agent header.
	UserAgent string
	// VisitorCookie is the collector's visitor cookie the browser holds,
	// "" for a client that keeps none (a bot).
	VisitorCookie string
	// Origin is the shop's origin, for the Origin header.
	Origin string
	// Now is the generator's Now: timestamps are relative to it.
	Now time.Time
}

// Stats counts what a generator has made so far.
type Stats struct {
	Events      int
	Batches     int
	Sessions    int
	BotSessions int
	// Visitors counts the distinct visitors who came, Customers those who
	// ordered, Registered those with an account.
	Visitors   int
	Customers  int
	Registered int
	Orders     int
	// Revenue sums the orders' revenue, in Currency.
	Revenue  float64
	Currency string
	// Mix counts events by name: the type for page and identify, the
	// event name for track.
	Mix map[string]int
}

// Generator makes the traffic. It is deterministic: the same Config gives
// the same batches. It is not safe for concurrent use.
type Generator struct {
	cfg       Config
	rng       *rand.Rand // everything but message ids
	msg       *rand.Rand // message ids
	cat       *catalog
	site      *url.URL
	origin    string
	start     time.Time
	span      time.Duration
	pool      []*visitor
	due       dueHeap
	active    []*session
	maxActive int
	emitted   int
	stats     Stats
}

// Share of sessions that are bots.
const botShare = 0.025

// NewGenerator returns a generator for cfg.
func NewGenerator(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cat := make([]Product, len(cfg.Catalog))
	copy(cat, cfg.Catalog)
	if _, err := checkCatalog(cat); err != nil {
		return nil, err
	}
	site, _ := url.Parse(cfg.SiteURL)
	h := fnv.New64a()
	h.Write([]byte(cfg.RunID))
	g := &Generator{
		cfg:       cfg,
		rng:       rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		msg:       rand.New(rand.NewPCG(cfg.Seed, h.Sum64())),
		cat:       newCatalog(cat),
		site:      site,
		origin:    site.Scheme + "://" + site.Host,
		start:     cfg.Now.Add(-time.Duration(cfg.Days) * 24 * time.Hour),
		span:      time.Duration(cfg.Days) * 24 * time.Hour,
		maxActive: min(64, max(1, cfg.Visitors/4)),
	}
	g.stats.Currency = g.cat.currency
	g.stats.Mix = map[string]int{}
	g.cat.rank(g.rng)
	return g, nil
}

// Config returns the configuration in use, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Stats returns what the generator has made so far.
func (g *Generator) Stats() Stats {
	s := g.stats
	s.Mix = make(map[string]int, len(g.stats.Mix))
	for k, v := range g.stats.Mix {
		s.Mix[k] = v
	}
	return s
}

// Next returns the next batch. The batch and its events are the caller's.
func (g *Generator) Next() *Batch {
	for len(g.active) < g.maxActive {
		g.active = append(g.active, g.startSession())
	}
	i := g.rng.IntN(len(g.active))
	s := g.active[i]
	for len(s.pending) == 0 && !s.ended {
		g.step(s)
	}
	// Now and then a page's events wait for the next page's (the tag's
	// queue, flushed on the next page or by a beacon).
	if !s.ended && len(s.pending) < 6 && g.rng.Float64() < 0.2 {
		g.step(s)
	}
	n := min(len(s.pending), 10)
	b := &Batch{
		Events:        s.pending[:n:n],
		UserAgent:     s.ua,
		VisitorCookie: s.vid,
		Origin:        g.origin,
		Now:           g.cfg.Now,
	}
	s.pending = append([]*event.Event(nil), s.pending[n:]...)
	if s.ended && len(s.pending) == 0 {
		g.endSession(s)
		g.active[i] = g.active[len(g.active)-1]
		g.active[len(g.active)-1] = nil
		g.active = g.active[:len(g.active)-1]
	}
	g.emitted += n
	g.stats.Events += n
	g.stats.Batches++
	for _, e := range b.Events {
		name := e.Type
		if e.Type == event.TypeTrack {
			name = e.Event
		}
		g.stats.Mix[name]++
	}
	return b
}

// clock returns the simulated time: it moves from Now − Days to Now as
// the planned events are made.
func (g *Generator) clock() time.Time {
	f := min(1, float64(g.emitted)/float64(g.cfg.Events))
	return g.start.Add(time.Duration(f * float64(g.span)))
}

// at bounds a simulated time to the history's window.
func (g *Generator) at(t time.Time) time.Time {
	if t.After(g.cfg.Now) {
		return g.cfg.Now
	}
	if t.Before(g.start) {
		return g.start
	}
	return t
}

// pickVisitor chooses who starts the next session: one who is due back,
// a new one, or, when every visitor has come, whoever is due soonest.
func (g *Generator) pickVisitor(now time.Time) *visitor {
	overdue := len(g.due) > 0 && !g.due[0].due.After(now)
	canNew := len(g.pool) < g.cfg.Visitors
	if overdue && (!canNew || g.rng.Float64() < 0.6) || !canNew {
		// maxActive ≤ Visitors, so someone is always waiting here.
		return heap.Pop(&g.due).(*visitor)
	}
	v := g.newVisitor(len(g.pool))
	g.pool = append(g.pool, v)
	g.stats.Visitors++
	if v.registered {
		g.stats.Registered++
	}
	return v
}

// endSession schedules the visitor's return, or none: some never come
// back, but a dormant visitor may still be picked once everyone has come.
func (g *Generator) endSession(s *session) {
	v := s.v
	if v == nil {
		return
	}
	v.lastEnd = s.t
	churn := 0.25
	switch {
	case v.customer():
		churn = 0.08
	case v.sessions == 1:
		churn = 0.5
	}
	if g.rng.Float64() < churn {
		v.due = s.t.Add(100 * 365 * 24 * time.Hour)
	} else {
		gap := time.Duration(max(1.0/24, g.rng.ExpFloat64()*v.returnDays) * float64(24*time.Hour))
		v.due = s.t.Add(gap)
		if v.customer() {
			next := v.lastOrder.Add(time.Duration(v.rhythmDays * (0.8 + 0.4*g.rng.Float64()) * float64(24*time.Hour)))
			if next.After(s.t) && next.Before(v.due) {
				v.due = next
			}
		}
	}
	heap.Push(&g.due, v)
}
