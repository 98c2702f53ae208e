package profile

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
)

// HalfLife is the half-life of interest scores: a signal weighs half as
// much HalfLife after it happened. It is read whenever scores are
// updated or read; set it once at start-up, before profiles are used.
var HalfLife = 14 * 24 * time.Hour

// Bounds of the interests and recent items a profile keeps.
const (
	// ProductInterestCap is how many products a profile keeps scores for.
	ProductInterestCap = 50
	// CategoryInterestCap is how many categories a profile keeps scores for.
	CategoryInterestCap = 30
	// RecentItemsCap is how many recently viewed products a profile keeps.
	RecentItemsCap = 20
	// minScore is the score under which an interest is forgotten.
	minScore = 0.01
)

// Weights of the signals that feed interests, per product (and its
// category). A page or a Product List Viewed with a category feeds only
// the category.
const (
	WeightListViewed = 0.5 // Product List Viewed, or a page with a category
	WeightClicked    = 0.5 // Product Clicked
	WeightViewed     = 1.0 // Product Viewed
	WeightAdded      = 3.0 // Product Added
	WeightBought     = 5.0 // a product of Order Completed
)

// Interests are scores by key (product id or category) that decay
// exponentially with HalfLife. All scores are stored as of one time,
// AsOf: an update at a later time first decays every score to it, and a
// late signal (before AsOf) is added decayed to AsOf. Reads decay to the
// time asked for. The zero value is empty and ready to use.
type Interests struct {
	AsOf   time.Time          `json:"asOf,omitzero"`
	Scores map[string]float64 `json:"scores,omitempty"`
}

// MarshalJSON encodes the interests with scores to 6 significant digits,
// plenty to rank them, and a third of the size of full precision.
func (in Interests) MarshalJSON() ([]byte, error) {
	w := struct {
		AsOf   time.Time              `json:"asOf,omitzero"`
		Scores map[string]json.Number `json:"scores,omitempty"`
	}{AsOf: in.AsOf}
	if len(in.Scores) > 0 {
		w.Scores = make(map[string]json.Number, len(in.Scores))
		for k, s := range in.Scores {
			w.Scores[k] = json.Number(strconv.FormatFloat(s, 'g', 6, 64))
		}
	}
	return json.Marshal(w)
}

// Scored is a key and its score.
type Scored struct {
	Key   string  `json:"key"`
	Score float64 `json:"score"`
}

// decay returns the factor a score keeps over d: 2^(-d/HalfLife).
func decay(d time.Duration) float64 {
	if HalfLife <= 0 || d <= 0 {
		return 1
	}
	return math.Exp2(-float64(d) / float64(HalfLife))
}

// Score returns the score of k at now (decayed; not grown when now is
// before AsOf).
func (in *Interests) Score(k string, now time.Time) float64 {
	return in.Scores[k] * decay(now.Sub(in.AsOf))
}

// At returns every score decayed to now, or nil when there is none.
func (in *Interests) At(now time.Time) map[string]float64 {
	if len(in.Scores) == 0 {
		return nil
	}
	f := decay(now.Sub(in.AsOf))
	m := make(map[string]float64, len(in.Scores))
	for k, s := range in.Scores {
		m[k] = s * f
	}
	return m
}

// Top returns the n highest scores at now, highest first (ties by key).
func (in *Interests) Top(n int, now time.Time) []Scored {
	f := decay(now.Sub(in.AsOf))
	top := make([]Scored, 0, len(in.Scores))
	for k, s := range in.Scores {
		top = append(top, Scored{k, s * f})
	}
	slices.SortFunc(top, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return top[:min(n, len(top))]
}

// add adds weight w for k at time at, keeping at most limit keys: when
// there are more, the lowest other than k goes.
func (in *Interests) add(k string, w float64, at time.Time, limit int) {
	if k == "" || w <= 0 || at.IsZero() {
		return
	}
	if in.Scores == nil {
		in.Scores = make(map[string]float64, 8)
		in.AsOf = at
	}
	switch {
	case at.After(in.AsOf):
		in.rescale(at)
	case at.Before(in.AsOf):
		w *= decay(in.AsOf.Sub(at))
	}
	in.Scores[k] += w
	for len(in.Scores) > limit {
		low, lowScore := "", math.Inf(1)
		for kk, s := range in.Scores {
			if kk != k && (s < lowScore || s == lowScore && kk < low) {
				low, lowScore = kk, s
			}
		}
		delete(in.Scores, low)
	}
}

// rescale decays every score to t, a time after AsOf, and forgets those
// that fell under minScore.
func (in *Interests) rescale(t time.Time) {
	f := decay(t.Sub(in.AsOf))
	for k, s := range in.Scores {
		if s *= f; s < minScore {
			delete(in.Scores, k)
		} else {
			in.Scores[k] = s
		}
	}
	in.AsOf = t
}

// absorb adds other's scores, both decayed to the later of the two AsOf,
// and keeps the limit highest.
func (in *Interests) absorb(other *Interests, limit int) {
	if len(other.Scores) == 0 {
		return
	}
	if in.Scores == nil {
		in.Scores = make(map[string]float64, len(other.Scores))
		in.AsOf = other.AsOf
	}
	if other.AsOf.After(in.AsOf) {
		in.rescale(other.AsOf)
	}
	f := decay(in.AsOf.Sub(other.AsOf))
	for k, s := range other.Scores {
		in.Scores[k] += s * f
	}
	if len(in.Scores) > limit {
		top := in.Top(limit, in.AsOf)
		clear(in.Scores)
		for _, s := range top {
			in.Scores[s.Key] = s.Score
		}
	}
}

// RecentItem is a product viewed and when.
type RecentItem struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// RecentProductIDs returns the ids of the products viewed lately, most
// recent first.
func (p *Profile) RecentProductIDs() []string {
	ids := make([]string, len(p.RecentItems))
	for i, it := range p.RecentItems {
		ids[i] = it.ID
	}
	return ids
}

// addRecentItem records a view of product id at t: most recent first,
// each product once (at its latest view), at most RecentItemsCap.
func addRecentItem(items []RecentItem, id string, t time.Time) []RecentItem {
	if i := slices.IndexFunc(items, func(it RecentItem) bool { return it.ID == id }); i >= 0 {
		if !t.After(items[i].At) {
			return items
		}
		items = slices.Delete(items, i, i+1)
	}
	i := slices.IndexFunc(items, func(it RecentItem) bool { return it.At.Before(t) })
	if i < 0 {
		i = len(items)
	}
	if i >= RecentItemsCap {
		return items
	}
	items = slices.Insert(items, i, RecentItem{ID: id, At: t})
	if len(items) > RecentItemsCap {
		items = items[:RecentItemsCap]
	}
	return items
}
