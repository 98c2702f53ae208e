package recommend

import (
	"cmp"
	"math"
	"slices"
)

// decay keeps time-decayed counts without touching every item as time
// passes: an event of weight w at time t adds w·2^((t-t0)/h) to the item's
// accumulator, so the decayed count at time now is acc·2^(-(now-t0)/h) and
// the order of items by accumulator never changes with time. The reference
// t0 moves forward (and every accumulator is scaled down) before the
// exponent could overflow.
type decay struct {
	t0  int64
	set bool
}

// maxExponent bounds (t-t0)/h before a rebase; 2^512 is far from overflow.
const maxExponent = 512

func (d *decay) add(st *state, it uint32, w float64, t int64) {
	if !d.set {
		d.t0, d.set = t, true
	}
	hp, hs := float64(st.cfg.PopularHalfLife), float64(st.cfg.TrendingHalfLife)
	if float64(t-d.t0)/min(hp, hs) > maxExponent {
		d.rebase(st, t)
	}
	x := &st.items[it]
	x.pop += w * math.Exp2(float64(t-d.t0)/hp)
	x.short += w * math.Exp2(float64(t-d.t0)/hs)
}

// rebase moves the reference time to t.
func (d *decay) rebase(st *state, t int64) {
	hp, hs := float64(st.cfg.PopularHalfLife), float64(st.cfg.TrendingHalfLife)
	fp, fs := math.Exp2(-float64(t-d.t0)/hp), math.Exp2(-float64(t-d.t0)/hs)
	for i := range st.items {
		st.items[i].pop *= fp
		st.items[i].short *= fs
	}
	d.t0 = t
}

// popularAt returns the decayed weighted count of item x at time now.
func (st *state) popularAt(x *item, now int64) float64 {
	return x.pop * math.Exp2(-float64(now-st.dec.t0)/float64(st.cfg.PopularHalfLife))
}

// trendingAt returns how much item x is trending at time now: its
// short-term count over the count its long-term rate predicts, plus one
// event, so that a burst on a new item ranks above a steady favourite and a
// single view does not.
func (st *state) trendingAt(x *item, now int64) float64 {
	hp, hs := float64(st.cfg.PopularHalfLife), float64(st.cfg.TrendingHalfLife)
	short := x.short * math.Exp2(-float64(now-st.dec.t0)/hs)
	long := x.pop * math.Exp2(-float64(now-st.dec.t0)/hp)
	return short / (long*hs/hp + 1)
}

// lists are the popular and trending items, best first, overall and per
// category, as of the last refresh.
type lists struct {
	built       int64 // event time of the last rebuild
	popular     []uint32
	trending    []uint32
	trendScore  []float64 // parallel to trending
	catPopular  map[string][]uint32
	catTrending map[string][]uint32
	catTrScore  map[string][]float64
}

// refresh rebuilds the lists in O(items + list lengths·log list lengths).
func (st *state) refresh() {
	now := st.now
	n := len(st.items)
	hp, hs := float64(st.cfg.PopularHalfLife), float64(st.cfg.TrendingHalfLife)
	fp, fs := math.Exp2(-float64(now-st.dec.t0)/hp), math.Exp2(-float64(now-st.dec.t0)/hs)
	pop, df, tr := make([]float64, n), make([]int32, n), make([]float64, n)
	all := make([]uint32, n)
	byCat := make(map[string][]uint32)
	for i := range st.items {
		x := &st.items[i]
		pop[i], df[i], all[i] = x.pop, x.df, uint32(i)
		tr[i] = x.short * fs / (x.pop*fp*hs/hp + 1) // as trendingAt
		if x.category != "" {
			byCat[x.category] = append(byCat[x.category], uint32(i))
		}
	}
	// Most popular first; ties go to the item seen in more sessions, then
	// to the item seen first.
	byPop := func(a, b uint32) int {
		if c := cmp.Compare(pop[b], pop[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(df[b], df[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	byTrend := func(a, b uint32) int {
		if c := cmp.Compare(tr[b], tr[a]); c != 0 {
			return c
		}
		return byPop(a, b)
	}
	top := func(ids []uint32, k int, order func(a, b uint32) int) []uint32 {
		k = min(k, len(ids))
		selectTop(ids, k, order)
		return slices.Clone(ids[:k])
	}
	scores := func(ids []uint32) []float64 {
		out := make([]float64, len(ids))
		for p, i := range ids {
			out[p] = tr[i]
		}
		return out
	}
	l := lists{
		built:       now,
		catPopular:  make(map[string][]uint32, len(byCat)),
		catTrending: make(map[string][]uint32, len(byCat)),
		catTrScore:  make(map[string][]float64, len(byCat)),
	}
	l.popular = top(all, st.cfg.TopListLen, byPop)
	l.trending = top(all, st.cfg.TopListLen, byTrend)
	l.trendScore = scores(l.trending)
	for c, ids := range byCat {
		l.catPopular[c] = top(ids, st.cfg.CategoryTopListLen, byPop)
		l.catTrending[c] = top(ids, st.cfg.CategoryTopListLen, byTrend)
		l.catTrScore[c] = scores(l.catTrending[c])
	}
	st.lists = l
	st.sinceRefresh = 0
	st.epoch++ // the cached similar items are as old as the lists at most
}
