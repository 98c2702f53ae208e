package personalize

// The marketers' console: JSON reports under /v1/console/ (admin token)
// and the single-page app at /console (no auth: it starts with a login
// form asking for the token, which it sends as a Bearer header).
//
//	GET  /v1/console/funnel?from=YYYY-MM-DD&to=YYYY-MM-DD&site=
//	     the funnel (visitor, engaged, identified, customer, repeat) over
//	     the range (default: the 90 days to today, UTC; at most 366 days),
//	     in total, by first-touch channel and by weekly cohort (ISO week),
//	     with stage-to-stage conversion; site "" sums every site.
//	GET  /v1/console/value?site=
//	     the Pareto curve (rfm/<site> on the stats topic) and, from a scan
//	     of the profiles (at most ScanLimit, cached CacheFor): the RFM grid
//	     (recency × frequency score), RFM segments, value tiers, lifecycle
//	     stages, the LTV histogram, each with the policy it calls for.
//	GET  /v1/console/customers?q=
//	     profiles answering to q: u:, a:, e:<email>, a profile id, or a
//	     bare user id, email or anonymous id.
//	GET  /v1/console/customers/{identifier}
//	     the 360° view: identities, traits, orders, cart, timeline,
//	     interests, segments, value scores, campaigns, recommendations.
//	GET  /v1/console/segments/{id}/count
//	POST /v1/console/segments/preview      {"expr": "..."}
//	     live member count of a segment (scan of the profiles).
//	GET  /v1/console/segments/{id}/members.csv
//	     the members as CSV (cells safe from formula injection).
//	GET  /v1/console/live?n=
//	     the latest hits this replica read, newest first.
//
// Campaigns are managed through /v1/campaigns (see Decisions).

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/console"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/recommend"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/stats"
	"github.com/ecrm/ecrm/internal/statsview"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
)

// Defaults of ConsoleOptions.
const (
	// DefaultScanLimit bounds the profiles one report reads.
	DefaultScanLimit = 200_000
	// DefaultCacheFor is how long a value report is reused.
	DefaultCacheFor = 30 * time.Second
	// MaxFunnelDays is the longest range the funnel report covers.
	MaxFunnelDays = 366
)

// ConsoleOptions are what a Console reads from. View, Stats and Server
// are required; a nil Segments, Campaigns or Recent serves none.
type ConsoleOptions struct {
	View      *view.View
	Stats     *statsview.View
	Segments  *segment.Registry
	Campaigns *campaign.Registry
	// Recent returns the latest hits, newest first (learner.Recent).
	Recent func() []event.Event
	// Server answers the recommendations of the customer view.
	Server *Server
	// ScanLimit bounds the profiles a report reads (default
	// DefaultScanLimit); CacheFor is how long a value report is reused
	// (default DefaultCacheFor).
	ScanLimit int
	CacheFor  time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Console serves the console's reports and app. It is safe for
// concurrent use.
type Console struct {
	o ConsoleOptions

	mu    sync.Mutex // held while a value report is made: one scan at a time
	cache map[string]cachedValue
}

type cachedValue struct {
	at time.Time
	r  console.ValueReport
}

// NewConsole returns the console over o.
func NewConsole(o ConsoleOptions) *Console {
	if o.ScanLimit <= 0 {
		o.ScanLimit = DefaultScanLimit
	}
	if o.CacheFor <= 0 {
		o.CacheFor = DefaultCacheFor
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Segments == nil {
		o.Segments = new(segment.Registry)
	}
	if o.Campaigns == nil {
		o.Campaigns = new(campaign.Registry)
	}
	return &Console{o: o, cache: map[string]cachedValue{}}
}

// Routes mounts the reports under /v1/console/ behind auth, and the app at
// /console/ without it.
func (cn *Console) Routes(r fiber.Router, auth fiber.Handler) {
	g := r.Group("/v1/console", auth)
	g.Get("/funnel", cn.funnel)
	g.Get("/value", cn.value)
	g.Get("/customers", cn.customers)
	g.Get("/customers/:identifier", cn.customer)
	g.Post("/segments/preview", cn.segmentPreview)
	g.Get("/segments/:id/count", cn.segmentCount)
	g.Get("/segments/:id/members.csv", cn.segmentCSV)
	g.Get("/live", cn.live)
	r.Use("/console", func(c *fiber.Ctx) error {
		if c.Path() == "/console" {
			return c.Redirect("/console/", fiber.StatusFound)
		}
		c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(console.FS()), Index: "index.html"}))
}

// --- funnel ------------------------------------------------------------

func (cn *Console) funnel(c *fiber.Ctx) error {
	today := cn.o.Now().UTC().Format(time.DateOnly)
	to, err := dateParam(c, "to", today)
	if err != nil {
		return err
	}
	toT, _ := time.Parse(time.DateOnly, to)
	from, err := dateParam(c, "from", toT.AddDate(0, 0, -89).Format(time.DateOnly))
	if err != nil {
		return err
	}
	fromT, _ := time.Parse(time.DateOnly, from)
	switch {
	case fromT.After(toT):
		return web.Errorf(fiber.StatusBadRequest, "from must not be after to")
	case toT.Sub(fromT) > MaxFunnelDays*24*time.Hour:
		return web.Errorf(fiber.StatusBadRequest, "the range may span at most "+strconv.Itoa(MaxFunnelDays)+" days")
	}
	site, err := siteParam(c)
	if err != nil {
		return err
	}
	var parts []console.FunnelPart
	for _, id := range cn.o.Stats.IDs("funnel/") {
		s, day, ch, ok := stats.ParseFunnelID(id)
		if !ok || day < from || day > to || (site != "" && s != site) {
			continue
		}
		f, ok := statsview.Sum(cn.o.Stats, id, func(into *stats.Funnel, p stats.Funnel) { into.Add(p) })
		if ok {
			parts = append(parts, console.FunnelPart{Site: s, Day: day, Channel: ch, Funnel: f})
		}
	}
	return c.JSON(console.BuildFunnel(from, to, site, parts))
}

// dateParam returns query parameter name, a YYYY-MM-DD date, or dflt.
func dateParam(c *fiber.Ctx, name, dflt string) (string, error) {
	v := c.Query(name)
	if v == "" {
		return dflt, nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", web.Errorf(fiber.StatusBadRequest, name+" must be a date, YYYY-MM-DD")
	}
	return strings.Clone(v), nil
}

// siteParam returns the site query parameter ("" for every site).
func siteParam(c *fiber.Ctx) (string, error) {
	s := c.Query("site")
	if len(s) > 64 || strings.ContainsAny(s, "/@") {
		return "", web.Errorf(fiber.StatusBadRequest, "site must be a site id (at most 64 characters, no / or @)")
	}
	return strings.Clone(s), nil
}

// --- value -------------------------------------------------------------

// valueAnswer is the answer of GET /v1/console/value.
type valueAnswer struct {
	Site string `json:"site"`
	// Customers is how many customers the site's RFM distribution holds
	// (every partition of the profiler, not only this replica's scan).
	Customers   int64                   `json:"customers"`
	Pareto      []stats.ParetoPoint     `json:"pareto"`
	Breakpoints *profile.RFMBreakpoints `json:"breakpoints,omitempty"`
	console.ValueReport
}

func (cn *Console) value(c *fiber.Ctx) error {
	site, err := siteParam(c)
	if err != nil {
		return err
	}
	rep, err := cn.valueReport(site)
	if err != nil {
		return &web.Error{Code: fiber.StatusInternalServerError, Msg: "the profiles could not be read", Err: err}
	}
	rfm := cn.rfm(site)
	a := valueAnswer{Site: site, Customers: rfm.Customers(), Pareto: console.ParetoOf(rfm), ValueReport: rep}
	if a.Pareto == nil {
		a.Pareto = []stats.ParetoPoint{}
	}
	if site != "" {
		b := rfm.Breakpoints(cn.o.Now())
		a.Breakpoints = &b
	}
	return c.JSON(a)
}

// rfm returns the RFM distribution of site, or of every site for "".
func (cn *Console) rfm(site string) stats.RFM {
	add := func(into *stats.RFM, p stats.RFM) { into.Add(p) }
	if site != "" {
		r, _ := statsview.Sum(cn.o.Stats, stats.RFMID(site), add)
		return r
	}
	var all stats.RFM
	for _, id := range cn.o.Stats.IDs("rfm/") {
		r, _ := statsview.Sum(cn.o.Stats, id, add)
		all.Add(r)
	}
	return all
}

// breakpoints returns a memo of the sites' RFM breakpoints at now.
func (cn *Console) breakpoints(now time.Time) func(site string) profile.RFMBreakpoints {
	memo := map[string]profile.RFMBreakpoints{}
	return func(site string) profile.RFMBreakpoints {
		b, ok := memo[site]
		if !ok {
			b = cn.rfm(site).Breakpoints(now)
			memo[site] = b
		}
		return b
	}
}

// valueReport returns the value report of site, from the cache when it is
// fresh; one scan runs at a time.
func (cn *Console) valueReport(site string) (console.ValueReport, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	now := cn.o.Now()
	if v, ok := cn.cache[site]; ok && now.Sub(v.at) < cn.o.CacheFor {
		return v.r, nil
	}
	scan := console.NewValueScan(now, cn.o.ScanLimit, cn.breakpoints(now))
	err := cn.o.View.Scan(func(p *profile.Profile) bool {
		if site != "" && console.SiteOf(p) != site {
			return true
		}
		return scan.Add(p)
	})
	if err != nil {
		return console.ValueReport{}, err
	}
	if len(cn.cache) >= 64 {
		clear(cn.cache)
	}
	r := scan.Report()
	cn.cache[site] = cachedValue{at: now, r: r}
	return r, nil
}

// --- customers ---------------------------------------------------------

// customerSummary is one line of a customer search.
type customerSummary struct {
	ID          string    `json:"id"`
	IDs         []string  `json:"ids"`
	Name        string    `json:"name,omitempty"`
	Orders      int64     `json:"orders"`
	Revenue     float64   `json:"revenue"`
	Lifecycle   string    `json:"lifecycle"`
	FunnelStage string    `json:"funnelStage"`
	LastSeen    time.Time `json:"lastSeen,omitzero"`
}

func (cn *Console) customers(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if q == "" || len(q) > 256 {
		return web.Errorf(fiber.StatusBadRequest, "q is required: u:<userId>, a:<anonymousId>, e:<email>, a profile id, or a bare user id or email (at most 256 characters)")
	}
	candidates := []string{q}
	if _, ok := identity.Lookup(q); !ok {
		candidates = []string{identity.User(q)}
		if _, ok := identity.NormalizeEmail(q); ok {
			candidates = append(candidates, identity.PrefixEmail+q)
		}
		candidates = append(candidates, identity.Anonymous(q))
	}
	now := cn.o.Now()
	out := []customerSummary{}
	for _, id := range candidates {
		p, err := cn.o.View.Lookup(id)
		switch {
		case errors.Is(err, view.ErrNotFound), errors.Is(err, view.ErrBadIdentifier):
			continue
		case err != nil:
			return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
		}
		if slices.ContainsFunc(out, func(s customerSummary) bool { return s.ID == p.ID }) {
			continue
		}
		name, _ := p.Traits["name"].(string)
		out = append(out, customerSummary{ID: p.ID, IDs: p.IDs, Name: name, Orders: p.Orders.Count,
			Revenue: round2(p.Orders.Revenue), Lifecycle: p.Lifecycle(now), FunnelStage: p.FunnelStage(), LastSeen: p.LastSeen})
	}
	return c.JSON(fiber.Map{"query": q, "customers": out})
}

// customer360 is the answer of GET /v1/console/customers/{identifier}:
// the console's view of the profile and what it would be recommended now.
type customer360 struct {
	console.Customer
	Recommendations []Recommendation `json:"recommendations"`
}

func (cn *Console) customer(c *fiber.Ctx) error {
	p, err := cn.o.Server.lookup(c)
	if err != nil {
		return err
	}
	return c.JSON(cn.view360(p, cn.o.Now()))
}

func (cn *Console) view360(p *profile.Profile, now time.Time) customer360 {
	b := cn.rfm(console.SiteOf(p)).Breakpoints(now)
	v := customer360{Customer: console.NewCustomer(p, now, b, console.Lookups{
		Item: cn.item,
		Segments: func(vars map[string]any) []segment.Segment {
			var out []segment.Segment
			for _, id := range cn.o.Segments.Match(vars) {
				if s, ok := cn.o.Segments.Get(id); ok {
					out = append(out, s)
				}
			}
			return out
		},
		Campaign: func(id string) string {
			camp, _ := cn.o.Campaigns.Get(id)
			return camp.Name
		},
	})}
	v.Recommendations = cn.o.Server.RecommendFor(p, 8)
	if v.Recommendations == nil {
		v.Recommendations = []Recommendation{}
	}
	return v
}

// item returns what the catalog knows of item id.
func (cn *Console) item(id string) catalog.Item {
	if cn.o.Server.catalog != nil {
		if it, ok := cn.o.Server.catalog.Get(id); ok {
			return it
		}
	}
	return catalog.Item{ID: id}
}

// ProfileRequest returns the recommendation request GET /v1/recommend
// would make for a visitor with profile p and no page context: personal
// takes the recent items as its context (most recent last), together the
// cart, and what the profile bought is left out.
func (s *Server) ProfileRequest(p *profile.Profile, typ recommend.Type, n int) recommend.Request {
	req := recommend.Request{Type: typ, N: n}
	if s.catalog != nil {
		req.Available = s.catalog.Available
	}
	switch typ {
	case recommend.Personal:
		recent := p.RecentProductIDs()
		for i := len(recent) - 1; i >= 0; i-- {
			req.Context = append(req.Context, recent[i])
		}
	case recommend.Together:
		for _, l := range p.Cart.Lines {
			req.Context = append(req.Context, l.ProductID)
		}
	}
	req.Exclude = append(req.Exclude, p.Orders.Bought...)
	return req
}

// RecommendFor returns the n personal recommendations profile p would get
// now, with their catalog data.
func (s *Server) RecommendFor(p *profile.Profile, n int) []Recommendation {
	if s.model == nil {
		return nil
	}
	scored := s.model.Recommend(s.ProfileRequest(p, recommend.Personal, n))
	out := make([]Recommendation, len(scored))
	for i, sc := range scored {
		it, ok := catalog.Item{}, false
		if s.catalog != nil {
			it, ok = s.catalog.Get(sc.Item)
		}
		if !ok {
			it = catalog.Item{ID: sc.Item}
		}
		out[i] = Recommendation{Item: it, Score: sc.Score, Reason: sc.Reason}
	}
	return out
}

// --- segments ----------------------------------------------------------

// memberCount is the answer of a segment count.
type memberCount struct {
	Segment string `json:"segment,omitempty"`
	Expr    string `json:"expr"`
	Count   int64  `json:"count"`
	// Sample holds up to 10 members' profile ids.
	Sample  []string `json:"sample"`
	Scanned int64    `json:"scanned"`
	Limit   int      `json:"limit"`
	Capped  bool     `json:"capped"`
}

// members scans the profiles (at most ScanLimit) and calls fn with each
// member of seg.
func (cn *Console) members(seg *segment.Compiled, fn func(p *profile.Profile, now time.Time, b profile.RFMBreakpoints)) (memberCount, error) {
	now := cn.o.Now()
	bp := cn.breakpoints(now)
	m := memberCount{Segment: seg.ID, Expr: seg.Expr, Sample: []string{}, Limit: cn.o.ScanLimit}
	err := cn.o.View.Scan(func(p *profile.Profile) bool {
		if m.Scanned >= int64(cn.o.ScanLimit) {
			m.Capped = true
			return false
		}
		m.Scanned++
		b := bp(console.SiteOf(p))
		if !seg.Match(p.Vars(now, b)) {
			return true
		}
		m.Count++
		if len(m.Sample) < 10 {
			m.Sample = append(m.Sample, p.ID)
		}
		if fn != nil {
			fn(p, now, b)
		}
		return true
	})
	return m, err
}

// compiled returns the segment the path's id names, compiled.
func (cn *Console) compiled(c *fiber.Ctx) (*segment.Compiled, error) {
	s, ok := cn.o.Segments.Get(c.Params("id"))
	if !ok {
		return nil, web.Errorf(fiber.StatusNotFound, "no such segment")
	}
	seg, err := segment.Compile(s)
	if err != nil {
		return nil, &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
	}
	return seg, nil
}

func (cn *Console) segmentCount(c *fiber.Ctx) error {
	seg, err := cn.compiled(c)
	if err != nil {
		return err
	}
	m, err := cn.members(seg, nil)
	if err != nil {
		return &web.Error{Code: fiber.StatusInternalServerError, Msg: "the profiles could not be read", Err: err}
	}
	return c.JSON(m)
}

func (cn *Console) segmentPreview(c *fiber.Ctx) error {
	var body struct {
		Expr string `json:"expr"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return web.Errorf(fiber.StatusBadRequest, `body must be {"expr": "..."}`)
	}
	seg, err := segment.Compile(segment.Segment{ID: "preview", Expr: body.Expr})
	if err != nil {
		return web.Errorf(fiber.StatusBadRequest, err.Error())
	}
	m, err := cn.members(seg, nil)
	if err != nil {
		return &web.Error{Code: fiber.StatusInternalServerError, Msg: "the profiles could not be read", Err: err}
	}
	m.Segment = ""
	return c.JSON(m)
}

// csvHeader names the columns of a segment's members export.
var csvHeader = []string{"profile_id", "identifiers", "email_hash", "orders", "revenue", "lifecycle", "value_tier"}

func (cn *Console) segmentCSV(c *fiber.Ctx) error {
	seg, err := cn.compiled(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(csvHeader)
	m, err := cn.members(seg, func(p *profile.Profile, now time.Time, b profile.RFMBreakpoints) {
		var hashes []string
		for _, id := range p.IDs {
			if h, ok := strings.CutPrefix(id, identity.PrefixEmail); ok {
				hashes = append(hashes, h)
			}
		}
		row := []string{p.ID, strings.Join(p.IDs, " "), strings.Join(hashes, " "),
			strconv.FormatInt(p.Orders.Count, 10), strconv.FormatFloat(round2(p.Orders.Revenue), 'f', 2, 64),
			p.Lifecycle(now), p.ValueTier(now, b)}
		for i := range row {
			row[i] = console.CSVCell(row[i])
		}
		_ = w.Write(row)
	})
	if err != nil {
		return &web.Error{Code: fiber.StatusInternalServerError, Msg: "the profiles could not be read", Err: err}
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="segment-`+seg.ID+`.csv"`)
	c.Set("X-Ecrm-Members", strconv.FormatInt(m.Count, 10))
	c.Set("X-Ecrm-Scan-Capped", strconv.FormatBool(m.Capped))
	return c.Send(buf.Bytes())
}

// --- live --------------------------------------------------------------

// liveHit is one hit of the live view.
type liveHit struct {
	Type        string    `json:"type"`
	Event       string    `json:"event,omitempty"`
	Name        string    `json:"name,omitempty"`
	UserID      string    `json:"userId,omitempty"`
	AnonymousID string    `json:"anonymousId,omitempty"`
	VisitorID   string    `json:"visitorId,omitempty"`
	URL         string    `json:"url,omitempty"`
	Time        time.Time `json:"time,omitzero"`
	Site        string    `json:"site,omitempty"`
	Device      string    `json:"device,omitempty"`
	Browser     string    `json:"browser,omitempty"`
	OS          string    `json:"os,omitempty"`
	Bot         bool      `json:"bot,omitempty"`
}

func (cn *Console) live(c *fiber.Ctx) error {
	n := 100
	if v := c.Query("n"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > 200 {
			return web.Errorf(fiber.StatusBadRequest, "n must be a whole number from 1 to 200")
		}
		n = k
	}
	var hits []event.Event
	if cn.o.Recent != nil {
		hits = cn.o.Recent()
	}
	out := make([]liveHit, 0, min(n, len(hits)))
	for _, e := range hits[:min(n, len(hits))] {
		h := liveHit{Type: e.Type, Event: e.Event, Name: e.Name, UserID: e.UserID, AnonymousID: e.AnonymousID,
			VisitorID: e.VisitorID, Time: e.Timestamp, Site: e.SiteID, Bot: e.Bot}
		if h.Time.IsZero() {
			h.Time = e.ReceivedAt
		}
		if page, ok := e.Context["page"].(map[string]any); ok {
			h.URL, _ = page["url"].(string)
		}
		if e.UA != nil {
			h.Device, h.Browser, h.OS = e.UA.Device, e.UA.Browser, e.UA.OS
		}
		out = append(out, h)
	}
	return c.JSON(fiber.Map{"hits": out})
}
