package recommend

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// Type is a kind of recommendation.
type Type string

// Types of recommendation.
const (
	// Similar: items seen in the same sessions as Request.Item (co-viewed,
	// co-carted, co-bought), by cosine of their kind-weighted counts.
	Similar Type = "similar"
	// Together: items bought in the same sessions as Request.Item or the
	// items of Request.Context (the cart), by summed confidence.
	Together Type = "together"
	// Personal: the next item after the visitor's recent items
	// (Request.Context, or the visitor's current session), by session-kNN.
	Personal Type = "personal"
	// Popular: the most viewed, carted and bought items, decayed with
	// Config.PopularHalfLife.
	Popular Type = "popular"
	// Trending: the items whose recent activity most exceeds their usual
	// rate (Config.TrendingHalfLife against Config.PopularHalfLife).
	Trending Type = "trending"
)

// ParseType returns the Type named s.
func ParseType(s string) (Type, error) {
	switch t := Type(s); t {
	case Similar, Together, Personal, Popular, Trending:
		return t, nil
	}
	return "", fmt.Errorf("unknown recommendation type %q (want similar, together, personal, popular or trending)", s)
}

// Limits of a Request.
const (
	// DefaultN is the number of items recommended when Request.N is zero.
	DefaultN = 10
	// MaxN is the largest Request.N honoured.
	MaxN = 200
)

// Request asks for recommendations.
type Request struct {
	// Type is what to recommend; an unknown Type gets popular items.
	Type Type
	// Item is the item on screen: the seed of similar and together, the
	// latest item of personal's context when Context does not end with it.
	// It is never recommended.
	Item string
	// Category, when set, restricts the answer to items of that category.
	Category string
	// Context holds the visitor's recent items, most recent last: the
	// session for personal, the cart for together. Unknown items are
	// ignored.
	Context []string
	// Visitor, for personal with an empty Context, takes the context from
	// the visitor's current session in the model (Interaction.Visitor);
	// that session is then never its own neighbour.
	Visitor string
	// Exclude lists items never to recommend (say, the ones already bought).
	Exclude []string
	// N is how many items to return (default DefaultN, at most MaxN).
	N int
	// Available, when set, reports whether an item may be recommended (in
	// stock, published). It is called under the model's read lock, so it
	// must be fast and must not call the Model.
	Available func(item string) bool
}

// Scored is one recommended item.
type Scored struct {
	Item string
	// Score orders the items of one Reason; scores of different reasons
	// are not comparable.
	Score float64
	// Reason is the Type that found the item: popular for items that fill
	// in when the asked type found too few (unknown item or visitor).
	Reason string
}

// Recommend answers req from memory: up to req.N items, best first, none
// excluded, all positively scored. When the asked type finds fewer than N
// items (an unknown item or visitor, a new model), popular items fill in,
// with Reason "popular".
func (m *Model) Recommend(req Request) []Scored {
	n := req.N
	if n <= 0 {
		n = DefaultN
	}
	n = min(n, MaxN)
	m.mu.RLock()
	defer m.mu.RUnlock()
	st := m.st
	if st == nil || len(st.items) == 0 {
		return nil
	}
	sc := m.getScratch(st)
	defer m.scratch.Put(sc)

	f := filter{st: st, cat: req.Category, avail: req.Available}
	if f.cat != "" {
		f.catID = st.cats[f.cat] // 0, which no item has, when unknown
	}
	if i, ok := st.ids[req.Item]; ok {
		sc.exclude(i)
	}
	for _, id := range req.Exclude {
		if i, ok := st.ids[id]; ok {
			sc.exclude(i)
		}
	}
	out := make([]Scored, 0, n)
	switch req.Type {
	case Similar:
		if i, ok := st.ids[req.Item]; ok {
			for _, c := range st.similarList(i) {
				if len(out) == n {
					break
				}
				if f.ok(sc, c.i) {
					out = append(out, Scored{Item: st.items[c.i].name, Score: c.score, Reason: string(Similar)})
					sc.markTaken(c.i)
				}
			}
		}
	case Together:
		st.together(sc, req)
		out = st.best(sc, &f, n, string(Together), out)
	case Personal:
		self := st.context(sc, req)
		if len(sc.ctx) > 0 {
			st.sknn(sc, self)
			out = st.best(sc, &f, n, string(Personal), out)
		}
	case Trending:
		out = st.fromList(sc, &f, n, true, out)
	}
	if len(out) < n {
		out = st.fromList(sc, &f, n, false, out)
	}
	return out
}

// context fills sc.ctx with the known items of a personal request's
// context and returns the session slot to leave out of the neighbours.
func (st *state) context(sc *scratch, req Request) int64 {
	self := int64(-1)
	if s, ok := st.live[req.Visitor]; ok && req.Visitor != "" {
		self = int64(s)
		if len(req.Context) == 0 {
			sc.ctx = append(sc.ctx, st.sessions[s].items...)
		}
	}
	in := req.Context
	if max := 4 * st.cfg.MaxSessionLen; len(in) > max { // only the latest count
		in = in[len(in)-max:]
	}
	for _, id := range in {
		if i, ok := st.ids[id]; ok {
			sc.ctx = append(sc.ctx, i)
		}
	}
	if i, ok := st.ids[req.Item]; ok && (len(sc.ctx) == 0 || sc.ctx[len(sc.ctx)-1] != i) {
		sc.ctx = append(sc.ctx, i)
	}
	if max := st.cfg.MaxSessionLen; len(sc.ctx) > max {
		sc.ctx = sc.ctx[len(sc.ctx)-max:]
	}
	return self
}

// similarList returns the similar items of item i, best first, from the
// cache or computed and cached: the items seen in the same sessions, by
// the cosine of their kind-weighted co-occurrence counts. Its
// co-occurrences are distinct items, scored at once.
func (st *state) similarList(i uint32) []scoredIdx {
	p := st.sims.slot(i)
	ver := st.items[i].simVer
	if l := p.Load(); l != nil && l.ver == ver && l.epoch == st.epoch && !st.simCacheOff {
		return l.items
	}
	x := &st.items[i]
	items := make([]scoredIdx, 0, len(x.co))
	for _, e := range x.co {
		if s := float64(e.w) / math.Sqrt(x.weight*st.items[e.j].weight); s > 0 {
			items = append(items, scoredIdx{i: e.j, score: s})
		}
	}
	st.sortScored(items)
	// Readers that miss at once store equal lists.
	p.Store(&simList{epoch: st.epoch, ver: ver, items: items})
	return items
}

// together scores the items bought with the request's item and cart by
// their summed confidence, and excludes the cart.
func (st *state) together(sc *scratch, req Request) {
	seed := func(i uint32) {
		x := &st.items[i]
		for _, e := range x.bought {
			sc.vote(e.j, float64(e.w)/float64(max(x.orders, 1)))
		}
	}
	if i, ok := st.ids[req.Item]; ok {
		seed(i)
	}
	for _, id := range req.Context {
		if i, ok := st.ids[id]; ok {
			seed(i)
			sc.exclude(i)
		}
	}
}

// simCache holds each item's similar items, ranked and unfiltered, for
// the readers to share: a reader that finds no valid list computes and
// stores one. A list is valid while the item's co-occurrences and weight
// are unchanged (item.simVer) and the popular lists have not been rebuilt
// since (state.epoch): the weights of its neighbours, which the cosine
// divides by, may be that old. Chunks never move, so that readers index
// them under the read lock while only the writer adds chunks.
type simCache struct {
	chunks [][]atomic.Pointer[simList]
}

const simChunk = 1024

type simList struct {
	epoch uint64
	ver   uint32
	items []scoredIdx // best first, every score positive
}

// grow makes room for n items.
func (c *simCache) grow(n int) {
	for len(c.chunks)*simChunk < n {
		c.chunks = append(c.chunks, make([]atomic.Pointer[simList], simChunk))
	}
}

func (c *simCache) slot(i uint32) *atomic.Pointer[simList] {
	return &c.chunks[i/simChunk][i%simChunk]
}

// filter decides which items a request may get.
type filter struct {
	st    *state
	cat   string
	catID uint32 // cat's id, when cat is set
	avail func(string) bool
}

// ok reports whether item i may be recommended: in the category, not
// excluded, not taken already, available.
func (f *filter) ok(sc *scratch, i uint32) bool {
	if f.cat != "" && f.st.catOf[i] != f.catID {
		return false
	}
	if k := sc.lookup(i); k >= 0 && sc.flags[k] != 0 { // excluded or taken already
		return false
	}
	return f.avail == nil || f.avail(f.st.items[i].name)
}

// best appends to out the best of the positively scored items that pass
// f, up to n in all, and marks them taken.
func (st *state) best(sc *scratch, f *filter, n int, reason string, out []Scored) []Scored {
	if len(out) >= n {
		return out
	}
	// Select a few more than asked, and all only if the filters (the
	// caller's Available, asked only here) reject too many.
	cands, all := st.topScored(sc, f, 2*(n-len(out))+8)
	for p := 0; p < len(cands) && len(out) < n; p++ {
		if c := cands[p]; f.ok(sc, c.i) {
			out = append(out, Scored{Item: st.items[c.i].name, Score: c.score, Reason: reason})
			sc.markTaken(c.i)
		}
	}
	if len(out) < n && !all { // the rest, in order (those taken are flagged)
		cands, _ = st.topScored(sc, f, max(len(sc.items), 1))
		for p := 0; p < len(cands) && len(out) < n; p++ {
			if c := cands[p]; f.ok(sc, c.i) {
				out = append(out, Scored{Item: st.items[c.i].name, Score: c.score, Reason: reason})
				sc.markTaken(c.i)
			}
		}
	}
	return out
}

// topScored returns the k best positively scored items that are neither
// excluded nor taken and in f's category, best first, and whether they
// are all such items. It selects as it goes: it keeps at most 2k, and
// when they are 2k, the k best, whose worst score is then a floor below
// which no later item can be among the k best.
func (st *state) topScored(sc *scratch, f *filter, k int) ([]scoredIdx, bool) {
	cands := sc.out[:0]
	floor, all := 0.0, true
	scores, flags := sc.scores[:len(sc.items)], sc.flags[:len(sc.items)]
	for j, i := range sc.items {
		s := scores[j]
		if s <= 0 || s < floor || flags[j] != 0 || f.cat != "" && st.catOf[i] != f.catID {
			continue
		}
		if len(cands) == 2*k {
			st.selectScored(cands, k)
			cands, all = cands[:k], false
			floor = cands[0].score
			for _, c := range cands[1:] {
				floor = min(floor, c.score)
			}
			if s < floor {
				continue
			}
		}
		cands = append(cands, scoredIdx{i: i, score: s})
	}
	sc.out = cands
	if len(cands) > k {
		st.selectScored(cands, k)
		cands, all = cands[:k], false
	}
	st.sortScored(cands)
	return cands, all
}

// better reports whether a ranks before b: a better score; on a tie, the
// more popular item (read only for ties: the items are spread over
// memory), then the lower index.
func (st *state) better(a, b *scoredIdx) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if pa, pb := st.items[a.i].pop, st.items[b.i].pop; pa != pb {
		return pa > pb
	}
	return a.i < b.i
}

// selectScored moves the k best of a to a[:k], in no order.
func (st *state) selectScored(a []scoredIdx, k int) {
	if k <= 0 || k >= len(a) {
		return
	}
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if st.better(&a[mid], &a[lo]) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if st.better(&a[hi], &a[lo]) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if st.better(&a[mid], &a[hi]) {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot := a[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if st.better(&a[i], &pivot) {
				a[i], a[p] = a[p], a[i]
				p++
			}
		}
		a[p], a[hi] = a[hi], a[p]
		switch {
		case p == k-1 || p == k:
			return
		case p < k:
			lo = p + 1
		default:
			hi = p - 1
		}
	}
}

// sortScored sorts a best first.
func (st *state) sortScored(a []scoredIdx) {
	if len(a) > 32 {
		slices.SortFunc(a, func(x, y scoredIdx) int {
			if st.better(&x, &y) {
				return -1
			}
			if st.better(&y, &x) {
				return 1
			}
			return 0
		})
		return
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && st.better(&a[j], &a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// markTaken records that item i is in the answer, so that no later list
// adds it again.
func (sc *scratch) markTaken(i uint32) { sc.flags[sc.entry(i)] |= taken }

// fromList appends the best popular (or trending) items that pass f, up
// to n in all.
func (st *state) fromList(sc *scratch, f *filter, n int, trending bool, out []Scored) []Scored {
	l := &st.lists
	list, scores, reason := l.popular, []float64(nil), string(Popular)
	if trending {
		list, scores, reason = l.trending, l.trendScore, string(Trending)
	}
	if f.cat != "" {
		list, scores = l.catPopular[f.cat], nil
		if trending {
			list, scores = l.catTrending[f.cat], l.catTrScore[f.cat]
		}
	}
	for p, i := range list {
		if len(out) == n {
			break
		}
		if !f.ok(sc, i) {
			continue
		}
		s := 0.0
		if scores != nil {
			s = scores[p]
		} else {
			s = st.popularAt(&st.items[i], st.now)
		}
		if s <= 0 {
			continue
		}
		out = append(out, Scored{Item: st.items[i].name, Score: s, Reason: reason})
		sc.markTaken(i)
	}
	return out
}
