package console

import (
	"math"
	"strconv"
	"time"

	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/stats"
)

// SiteOf returns the site a profile counts under in the aggregates: its
// site id, or "unknown" (as the profiler counts it).
func SiteOf(p *profile.Profile) string {
	if p.SiteID == "" {
		return "unknown"
	}
	return p.SiteID
}

// Cell is one cell of the RFM grid: the customers with recency score R
// and frequency score F, and their revenue.
type Cell struct {
	R       int     `json:"r"`
	F       int     `json:"f"`
	Count   int64   `json:"count"`
	Revenue float64 `json:"revenue"`
}

// Group is a group of profiles (an RFM segment, a value tier, a lifecycle
// stage), its size and revenue, and the policy it calls for.
type Group struct {
	Name    string  `json:"name"`
	Count   int64   `json:"count"`
	Revenue float64 `json:"revenue"`
	Policy  Policy  `json:"policy"`
}

// Bucket is one bar of the LTV histogram: customers with From <= LTV < To
// (To 0: no upper bound).
type Bucket struct {
	From  float64 `json:"from"`
	To    float64 `json:"to,omitempty"`
	Count int64   `json:"count"`
}

// LTVEdges are the lower bounds of the LTV histogram's buckets.
var LTVEdges = []float64{0, 25, 50, 100, 250, 500, 1000, 2500, 5000}

// Scanned says what a report read of the profiles: how many, whether it
// stopped at Limit, and when.
type Scanned struct {
	Profiles  int64     `json:"profiles"`
	Customers int64     `json:"customers"`
	Limit     int       `json:"limit"`
	Capped    bool      `json:"capped"`
	At        time.Time `json:"at"`
	Note      string    `json:"note"`
}

// ValueReport is the value of a site's customer base from a scan of the
// profiles.
type ValueReport struct {
	Scan Scanned `json:"scan"`
	// Grid is the RFM grid, rows R 5 (recent) to 1, columns F 1 to 5;
	// only customers scored against their site's breakpoints count.
	Grid     [5][5]Cell `json:"grid"`
	Segments []Group    `json:"segments"`
	Tiers    []Group    `json:"tiers"`
	// Lifecycle counts every profile, prospects included.
	Lifecycle []Group  `json:"lifecycle"`
	LTV       []Bucket `json:"ltv"`
	// LTVMean is the mean LTV of the customers, Revenue their revenue.
	LTVMean float64 `json:"ltvMean"`
	Revenue float64 `json:"revenue"`
}

// ValueScan accumulates a ValueReport over profiles. It is not safe for
// concurrent use.
type ValueScan struct {
	now         time.Time
	limit       int
	breakpoints func(site string) profile.RFMBreakpoints
	r           ValueReport
	segments    map[string]*Group
	tiers       map[string]*Group
	life        map[string]*Group
	ltvSum      float64
}

// NewValueScan returns a scan at now that reads at most limit profiles
// and scores each against breakpoints(SiteOf(profile)).
func NewValueScan(now time.Time, limit int, breakpoints func(site string) profile.RFMBreakpoints) *ValueScan {
	v := &ValueScan{now: now, limit: limit, breakpoints: breakpoints,
		segments: groups(RFMSegments, RFMPolicy), tiers: groups(Tiers, TierPolicy), life: groups(Lifecycles, LifecyclePolicy)}
	for i := range v.r.Grid {
		for j := range v.r.Grid[i] {
			v.r.Grid[i][j] = Cell{R: 5 - i, F: j + 1}
		}
	}
	v.r.LTV = make([]Bucket, len(LTVEdges))
	for i, e := range LTVEdges {
		v.r.LTV[i].From = e
		if i+1 < len(LTVEdges) {
			v.r.LTV[i].To = LTVEdges[i+1]
		}
	}
	return v
}

func groups(names []string, policy func(string) Policy) map[string]*Group {
	m := make(map[string]*Group, len(names))
	for _, n := range names {
		m[n] = &Group{Name: n, Policy: policy(n)}
	}
	return m
}

// Add counts a profile and reports whether the scan wants more: false
// once limit profiles were read.
func (v *ValueScan) Add(p *profile.Profile) bool {
	if v.r.Scan.Profiles >= int64(v.limit) {
		v.r.Scan.Capped = true
		return false
	}
	v.r.Scan.Profiles++
	rev := p.Orders.Revenue
	if g := v.life[p.Lifecycle(v.now)]; g != nil {
		g.Count++
		g.Revenue += rev
	}
	if p.Orders.Count == 0 {
		return true
	}
	v.r.Scan.Customers++
	v.r.Revenue += rev
	b := v.breakpoints(SiteOf(p))
	if sc := p.RFM(b, v.now); sc.R > 0 {
		c := &v.r.Grid[5-sc.R][sc.F-1]
		c.Count++
		c.Revenue += rev
		if g := v.segments[sc.Segment]; g != nil {
			g.Count++
			g.Revenue += rev
		}
	}
	if g := v.tiers[p.ValueTier(v.now, b)]; g != nil {
		g.Count++
		g.Revenue += rev
	}
	ltv := p.LTV(v.now)
	v.ltvSum += ltv
	i := len(LTVEdges) - 1
	for i > 0 && ltv < LTVEdges[i] {
		i--
	}
	v.r.LTV[i].Count++
	return true
}

// Report returns what was counted.
func (v *ValueScan) Report() ValueReport {
	r := v.r
	r.Scan.Limit, r.Scan.At = v.limit, v.now
	r.Scan.Note = "from a scan of this replica's profiles"
	if r.Scan.Capped {
		r.Scan.Note += ", stopped at the first " + strconv.Itoa(v.limit) + ": figures cover those only"
	}
	if r.Scan.Customers > 0 {
		r.LTVMean = round2(v.ltvSum / float64(r.Scan.Customers))
	}
	r.Revenue = round2(r.Revenue)
	for i := range r.Grid {
		for j := range r.Grid[i] {
			r.Grid[i][j].Revenue = round2(r.Grid[i][j].Revenue)
		}
	}
	r.Segments = list(RFMSegments, v.segments)
	r.Tiers = list(Tiers, v.tiers)
	r.Lifecycle = list(Lifecycles, v.life)
	return r
}

func list(names []string, m map[string]*Group) []Group {
	out := make([]Group, len(names))
	for i, n := range names {
		out[i] = *m[n]
		out[i].Revenue = round2(out[i].Revenue)
	}
	return out
}

// ParetoOf returns the Pareto curve of an RFM distribution, with shares
// rounded to 4 digits.
func ParetoOf(r stats.RFM) []stats.ParetoPoint {
	pts := r.Pareto()
	for i := range pts {
		pts[i].RevenueShare = round4(pts[i].RevenueShare)
	}
	return pts
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
func round4(f float64) float64 { return math.Round(f*10000) / 10000 }
