package recommend

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Weighting is a decay over positions, used by the session-kNN scoring: how
// much an item of the visitor's session weighs by its position, and how much
// a neighbour session counts by how far back its latest shared item is.
type Weighting uint8

// Weightings, as in session-rec's V-SKNN. For the position weighting, i is
// the 1-based position in a context of length n (the most recent item has
// i = n); for the match weighting, i is the 1-based distance from the end of
// the context (the most recent item has i = 1).
const (
	// WeightDefault means the Config's documented default.
	WeightDefault Weighting = iota
	// WeightSame weighs every position 1.
	WeightSame
	// WeightDiv weighs a position i/n, or 1/i for the match weighting.
	WeightDiv
	// WeightQuadratic weighs a position (i/n)², or 1/i² for the match weighting.
	WeightQuadratic
	// WeightLinear weighs a position 1-0.1·(n-i), or 1-0.1·(i-1) for the match
	// weighting, never below 0.
	WeightLinear
	// WeightLog weighs a position 1/log10(n-i+2.7), or 1/log10(i+1.7) for the
	// match weighting.
	WeightLog
)

var weightingNames = [...]string{"default", "same", "div", "quadratic", "linear", "log"}

// String returns the weighting's name.
func (w Weighting) String() string {
	if int(w) < len(weightingNames) {
		return weightingNames[w]
	}
	return fmt.Sprintf("Weighting(%d)", w)
}

// ParseWeighting returns the Weighting named s.
func ParseWeighting(s string) (Weighting, error) {
	for i, n := range weightingNames {
		if n == s {
			return Weighting(i), nil
		}
	}
	return 0, fmt.Errorf("unknown weighting %q (want same, div, quadratic, linear or log)", s)
}

// Default settings. The session-kNN ones were chosen on the next-item
// benchmarks (see the package documentation); the others are conventions.
const (
	DefaultNeighbors          = 50
	DefaultSampleSize         = 300
	DefaultSessionsPerItem    = 50
	DefaultMaxSessionLen      = 50
	DefaultMaxItemNeighbors   = 100
	DefaultSessionGap         = 30 * time.Minute
	DefaultPopularHalfLife    = 7 * 24 * time.Hour
	DefaultTrendingHalfLife   = 24 * time.Hour
	DefaultRefreshEvery       = time.Minute
	DefaultTopListLen         = 500
	DefaultCategoryTopListLen = 200
	DefaultPositionWeighting  = WeightDiv
	DefaultMatchWeighting     = WeightLog
	DefaultIDFWeight          = 1
	DefaultSequenceWeight     = 0.5
	DefaultRemindWeight       = 2
)

// Config holds a Model's settings. The zero value of every field means its
// default (the Default* constants). Validate rejects negative sizes and
// durations; a negative weight turns its signal off.
type Config struct {
	// Neighbors is k of session-kNN: how many of the most similar past
	// sessions vote for the next item (default 50).
	Neighbors int
	// SampleSize is how many candidate sessions session-kNN compares at most:
	// the most recent ones among the sessions in the rings of the items of
	// the visitor's session, by their latest entry there (default 300).
	SampleSize int
	// SessionsPerItem is how many of its most recent sessions each item
	// remembers; older ones are forgotten, and a past session no item
	// remembers is freed (default 50). With a visitor's 10 latest items
	// as the context, a request gathers at most 500 candidates. With 50
	// neighbours, 50 scores at or above the session-kNN references of
	// ../shared/data/recsys on all three splits (yoochoose HR@20 .6900,
	// MRR@20 .3708, against .6945 and .3710 with 100 and 100; the two
	// samples as well or better) with half the sessions in memory.
	SessionsPerItem int
	// MaxSessionLen is how many distinct items a session keeps, the most
	// recent ones; it also caps the context of a personal request
	// (default 50).
	MaxSessionLen int
	// MaxItemNeighbors is how many co-viewed, co-bought and following items
	// each item keeps for similar, together and personal: each map of an
	// item grows to twice this, then keeps its strongest MaxItemNeighbors
	// (default 100).
	MaxItemNeighbors int
	// SessionGap is the idle time after which a visitor's next event starts
	// a new session (default 30m). An event whose Session differs from the
	// visitor's current one starts a new session too.
	SessionGap time.Duration
	// PopularHalfLife is the half-life of the counts behind popular
	// (default 7 days).
	PopularHalfLife time.Duration
	// TrendingHalfLife is the half-life of the short-term counts behind
	// trending, compared with the popular ones (default 24h).
	TrendingHalfLife time.Duration
	// RefreshEvery is how much event time passes at least between two
	// rebuilds of the popular and trending lists by Observe (default 1m;
	// see Refresh for when exactly); Refresh rebuilds them at once. A
	// rebuild also renews the cached similar items, which are otherwise
	// renewed only when the item's own co-occurrences or weight change.
	RefreshEvery time.Duration
	// TopListLen is how many items the popular and trending lists hold
	// overall (default 500).
	TopListLen int
	// CategoryTopListLen is how many items the popular and trending lists
	// hold per category (default 200).
	CategoryTopListLen int
	// PositionWeighting weighs the items of the visitor's session by their
	// position when comparing it with past sessions (default div: i/n).
	PositionWeighting Weighting
	// MatchWeighting weighs a neighbour session by how recent the latest
	// item it shares with the visitor's session is, and the sequential
	// scores and reminders by how recent their item is (default log:
	// 1/log10(i+1.7), which is at or above the session-kNN references of
	// ../shared/data/recsys on all three splits; see `make eval`).
	MatchWeighting Weighting
	// IDFWeight raises the vote for rare items: a neighbour votes
	// sim·(1+IDFWeight·log(sessions/sessions with the item)) (default 1;
	// negative turns it off).
	IDFWeight float64
	// SequenceWeight adds, on the scale of the best session-kNN score (1),
	// the share of the items that followed each of the session's last three
	// items in past sessions, within three steps (default 0.5; negative
	// turns it off).
	SequenceWeight float64
	// RemindWeight raises the items of the visitor's own session, on the
	// same scale: each gets RemindWeight times the match weight of its
	// distance from the end of the session, so by default the item before
	// the current one gets 1 (default 2; negative turns it off).
	RemindWeight float64
}

// ErrInvalidConfig is returned (wrapped) by Validate and New when a setting
// is out of range.
var ErrInvalidConfig = errors.New("recommend: invalid config")

// Validate reports whether c can configure a Model.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Neighbors", int64(c.Neighbors)}, {"SampleSize", int64(c.SampleSize)},
		{"SessionsPerItem", int64(c.SessionsPerItem)}, {"MaxSessionLen", int64(c.MaxSessionLen)},
		{"MaxItemNeighbors", int64(c.MaxItemNeighbors)}, {"SessionGap", int64(c.SessionGap)},
		{"PopularHalfLife", int64(c.PopularHalfLife)}, {"TrendingHalfLife", int64(c.TrendingHalfLife)},
		{"RefreshEvery", int64(c.RefreshEvery)}, {"TopListLen", int64(c.TopListLen)},
		{"CategoryTopListLen", int64(c.CategoryTopListLen)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, f.name))
		}
	}
	if c.PositionWeighting > WeightLog || c.MatchWeighting > WeightLog {
		errs = append(errs, fmt.Errorf("%w: unknown weighting", ErrInvalidConfig))
	}
	for _, w := range []float64{c.IDFWeight, c.SequenceWeight, c.RemindWeight} {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			errs = append(errs, fmt.Errorf("%w: a weight is not a finite number", ErrInvalidConfig))
		}
	}
	return errors.Join(errs...)
}

// WithDefaults returns c with every zero field set to its default and
// every negative weight set to 0 (off), as a Model uses it.
func (c Config) WithDefaults() Config {
	set := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	setD := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	set(&c.Neighbors, DefaultNeighbors)
	set(&c.SampleSize, DefaultSampleSize)
	set(&c.SessionsPerItem, DefaultSessionsPerItem)
	set(&c.MaxSessionLen, DefaultMaxSessionLen)
	set(&c.MaxItemNeighbors, DefaultMaxItemNeighbors)
	set(&c.TopListLen, DefaultTopListLen)
	set(&c.CategoryTopListLen, DefaultCategoryTopListLen)
	setD(&c.SessionGap, DefaultSessionGap)
	setD(&c.PopularHalfLife, DefaultPopularHalfLife)
	setD(&c.TrendingHalfLife, DefaultTrendingHalfLife)
	setD(&c.RefreshEvery, DefaultRefreshEvery)
	if c.PositionWeighting == WeightDefault {
		c.PositionWeighting = DefaultPositionWeighting
	}
	if c.MatchWeighting == WeightDefault {
		c.MatchWeighting = DefaultMatchWeighting
	}
	weight := func(p *float64, d float64) {
		switch {
		case *p == 0:
			*p = d
		case *p < 0:
			*p = 0
		}
	}
	weight(&c.IDFWeight, DefaultIDFWeight)
	weight(&c.SequenceWeight, DefaultSequenceWeight)
	weight(&c.RemindWeight, DefaultRemindWeight)
	return c
}
