package recommend

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// randomModel returns a model of small limits (so that rings evict, the
// sample and the neighbours cut, and long sessions drop and take back
// items) that observed random sessions over a few items.
func randomModel(t *testing.T, r *rand.Rand) *Model {
	t.Helper()
	return randomModelOf(t, r, 0)
}

// randomModelOf is randomModel over nItems items (0: 5 to 34).
func randomModelOf(t *testing.T, r *rand.Rand, nItems int) *Model {
	t.Helper()
	m, err := New(Config{SessionsPerItem: 1 + r.IntN(8), SampleSize: 1 + r.IntN(12), Neighbors: 1 + r.IntN(6),
		MaxSessionLen: 2 + r.IntN(6), MaxItemNeighbors: 2 + r.IntN(5)})
	if err != nil {
		t.Fatal(err)
	}
	at := t0
	if nItems == 0 {
		nItems = 5 + r.IntN(30)
	}
	for s := range 20 + r.IntN(80) {
		for range 1 + r.IntN(12) {
			in := Interaction{Visitor: fmt.Sprint("v", s), Item: fmt.Sprint("i", r.IntN(nItems)),
				Kind: Kind(1 + r.IntN(3)), Time: at, Category: fmt.Sprint("c", r.IntN(3))}
			if err := m.Observe(in); err != nil {
				t.Fatal(err)
			}
			at = at.Add(time.Duration(1+r.IntN(60)) * time.Second)
		}
		at = at.Add(time.Duration(r.IntN(90)) * time.Minute)
	}
	m.Refresh()
	return m
}

// referenceSKNN scores the context as sknn does, written plainly: maps,
// sorts, every session read in full.
func referenceSKNN(st *state, ctx []uint32, self int64) map[uint32]float64 {
	cfg := st.cfg
	n := len(ctx)
	w, lastPos := map[uint32]float64{}, map[uint32]int{}
	for p, i := range ctx {
		w[i] = positionWeight(cfg.PositionWeighting, p+1, n)
		lastPos[i] = p
	}
	type cnd struct {
		s     uint32
		seq   uint64
		items map[uint32]bool
		sim   float64
		step  int
	}
	byS := map[uint32]*cnd{}
	for i, p := range lastPos {
		r := &st.items[i].ring
		for e, s := range r.s {
			if int64(s) == self {
				continue
			}
			c := byS[s]
			if c == nil {
				c = &cnd{s: s, items: map[uint32]bool{}, step: n + 1}
				byS[s] = c
			}
			c.seq = max(c.seq, r.seq[e])
			c.items[i] = true
			c.step = min(c.step, n-p)
		}
	}
	var cands []*cnd
	for _, c := range byS {
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(a, b *cnd) int { return cmp.Compare(b.seq, a.seq) })
	cands = cands[:min(len(cands), cfg.SampleSize)]
	var nb []*cnd
	for _, c := range cands {
		// In context order, as sknn sums.
		for p, i := range ctx {
			if c.items[i] && lastPos[i] == p {
				c.sim += w[i]
			}
		}
		if c.sim > 0 {
			c.sim /= float64(len(w))
			nb = append(nb, c)
		}
	}
	slices.SortFunc(nb, func(a, b *cnd) int {
		return cmp.Or(cmp.Compare(b.sim, a.sim), cmp.Compare(b.seq, a.seq))
	})
	nb = nb[:min(len(nb), cfg.Neighbors)]
	score := map[uint32]float64{}
	for _, c := range nb {
		for _, i := range st.sessions[c.s].items {
			score[i] += c.sim * matchWeight(cfg.MatchWeighting, c.step)
		}
	}
	top := 0.0
	for i := range score {
		if cfg.IDFWeight > 0 {
			score[i] *= 1 + cfg.IDFWeight*(math.Log(float64(max(st.nSess, 1)))-math.Log(float64(max(st.items[i].df, 1))))
		}
		top = max(top, score[i])
	}
	for i := range score {
		score[i] /= top
	}
	for p := n - 1; p >= 0 && p >= n-seqDepth; p-- {
		i := ctx[p]
		if lastPos[i] != p || st.items[i].nextTot <= 0 || cfg.SequenceWeight <= 0 {
			continue
		}
		for _, e := range st.items[i].next {
			score[e.j] += cfg.SequenceWeight * matchWeight(cfg.MatchWeighting, n-p) * float64(e.w) / st.items[i].nextTot
		}
	}
	for p, i := range ctx {
		if lastPos[i] == p && cfg.RemindWeight > 0 {
			score[i] += cfg.RemindWeight * matchWeight(cfg.MatchWeighting, n-p)
		}
	}
	return score
}

// TestSKNNReference checks the optimised session-kNN against
// referenceSKNN on random models and contexts.
func TestSKNNReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 240 {
		m, ctx := (*Model)(nil), []uint32(nil)
		if trial < 200 {
			m = randomModel(t, r)
			ctx = make([]uint32, 1+r.IntN(8))
		} else { // contexts of more than 64 distinct items, up to 200
			m = randomModelOf(t, r, 300)
			ctx = make([]uint32, 60+r.IntN(200))
		}
		st := m.st
		for p := range ctx {
			ctx[p] = uint32(r.IntN(len(st.items)))
		}
		self := int64(-1)
		if r.IntN(2) == 0 {
			for _, s := range st.live {
				self = int64(s)
				break
			}
		}
		want := referenceSKNN(st, ctx, self)
		sc := m.getScratch(st)
		sc.ctx = append(sc.ctx, ctx...)
		st.sknn(sc, self)
		got := map[uint32]float64{}
		for k, i := range sc.items {
			got[i] = sc.scores[k]
		}
		m.scratch.Put(sc)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d items scored, want %d", trial, len(got), len(want))
		}
		for i, v := range want {
			if g, ok := got[i]; !ok || math.Abs(g-v) > 1e-9*max(1, math.Abs(v)) {
				t.Fatalf("trial %d: item %d scores %v, want %v", trial, i, g, v)
			}
		}
	}
}

// TestSimilarCache checks that similar answers from the cache as it
// would compute them, filters applied per request, and that a change of
// the item's co-occurrences or a rebuild of the lists renews the list.
func TestSimilarCache(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	avail := func(id string) bool { return id != "i3" }
	reqs := func(item string) []Request {
		return []Request{
			{Type: Similar, Item: item},
			{Type: Similar, Item: item, N: 3},
			{Type: Similar, Item: item, Category: "c1"},
			{Type: Similar, Item: item, Exclude: []string{"i1", "i2"}},
			{Type: Similar, Item: item, Available: avail, N: 20},
		}
	}
	check := func(m *Model, item string, what string) {
		t.Helper()
		for _, req := range reqs(item) {
			got := m.Recommend(req) // from the cache, filled by an earlier request
			m.st.simCacheOff = true
			want := m.Recommend(req)
			m.st.simCacheOff = false
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: Recommend(%+v) = %v, want %v", what, req, got, want)
			}
		}
	}
	for range 30 {
		m := randomModel(t, r)
		for k := range 5 {
			check(m, fmt.Sprint("i", k), "fresh")
		}
		// A session with i0 changes i0's co-occurrences: its list is
		// renewed at once.
		at := time.Unix(0, m.st.now).Add(time.Hour)
		for j, it := range []string{"i0", "i7", "i9"} {
			m.Observe(Interaction{Visitor: "new", Item: it, Kind: View, Time: at.Add(time.Duration(j) * time.Second)})
		}
		check(m, "i0", "after a change")
		// A session without i0 may leave its list stale until the lists
		// are rebuilt.
		for j, it := range []string{"i1", "i2", "i4"} {
			m.Observe(Interaction{Visitor: "other", Item: it, Kind: Order, Time: at.Add(time.Minute + time.Duration(j)*time.Second)})
		}
		m.Refresh()
		for k := range 5 {
			check(m, fmt.Sprint("i", k), "after Refresh")
		}
	}
}

// TestSnapshotVersion1 reads a snapshot of version 1, which has no ring
// stamps: the stamps follow the sessions' recency.
func TestSnapshotVersion1(t *testing.T) {
	m := randomModel(t, rand.New(rand.NewPCG(5, 6)))
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var snap snapshot
	if err := gob.NewDecoder(&buf).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	snap.Version, snap.Pushes = 1, 0
	for i := range snap.Items {
		snap.Items[i].RingSeq = nil
	}
	buf.Reset()
	if err := gob.NewEncoder(&buf).Encode(&snap); err != nil {
		t.Fatal(err)
	}
	m2, _ := New(m.Config())
	if _, err := m2.ReadFrom(&buf); err != nil {
		t.Fatalf("ReadFrom(version 1) = %v", err)
	}
	st := m2.st
	seen := map[uint64]bool{}
	for i := range st.items {
		r := &st.items[i].ring
		if len(r.seq) != len(r.s) {
			t.Fatalf("item %d: %d stamps for %d entries", i, len(r.seq), len(r.s))
		}
		for e, q := range r.seq {
			if q == 0 || q > st.pushes || seen[q] {
				t.Fatalf("item %d: stamp %d (of %d) zero, too large or repeated", i, q, st.pushes)
			}
			seen[q] = true
			for f, q2 := range r.seq {
				h, h2 := &st.hot[r.s[e]], &st.hot[r.s[f]]
				if q < q2 && (h.last > h2.last || h.last == h2.last && h.serial > h2.serial) {
					t.Fatalf("item %d: stamps out of the sessions' order", i)
				}
			}
		}
	}
	if got := m2.Recommend(Request{Type: Personal, Context: []string{"i1", "i2"}}); len(got) == 0 {
		t.Error("no recommendation after reading version 1")
	}
	// Version 2 stamps survive a round trip.
	buf.Reset()
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	m3, _ := New(m.Config())
	if _, err := m3.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	if m3.st.pushes != m.st.pushes {
		t.Errorf("pushes %d after a round trip, want %d", m3.st.pushes, m.st.pushes)
	}
	for i := range m.st.items {
		s1, q1 := m.st.items[i].ring.ordered()
		_, q3 := m3.st.items[i].ring.ordered()
		if len(s1) > 0 && !slices.Equal(q1, q3) {
			t.Fatalf("item %d: stamps %v after a round trip, want %v", i, q3, q1)
		}
	}
}
