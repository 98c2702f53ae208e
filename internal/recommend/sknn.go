package recommend

import "math"

// scratch is the working memory of one request, reused through a pool so
// that a request allocates almost nothing. The candidate table is valid
// where its slots' gen equals gen.
type scratch struct {
	gen   uint32
	stab  []sessSlot // candidate session → index in cands, open addressing
	vtab  []vslot    // item → index in the scored arrays, open addressing
	vbits uint8      // log2(len(vtab))
	// The items a request scores or excludes, in order of entry, their
	// scores and flags (excluded, taken).
	items  []uint32
	scores []float64
	flags  []uint8
	ctab   []ctxSlot // the context's distinct items, open addressing
	cbits  uint8     // log2(len(ctab))
	sink   int32     // keeps the prefetching loads
	cands  []cand
	seqs   []uint64  // the candidates' stamps, for the sample
	mw     []float64 // match weight by step
	out    []scoredIdx
	ctx    []uint32
}

// vslot maps an item to its index in scratch.items, scores and flags. A
// request touches a few thousand items at most, so that the table and the
// arrays stay in cache, unlike arrays over all items. item is the index
// plus one, 0 for an empty slot.
type vslot struct {
	item, k uint32
}

// Flags of a scored item.
const (
	excluded = 1 << iota // never to recommend
	taken                // in the answer already
)

// ctxSlot is a distinct item of a personal request's context: its
// position weight and its latest position. item is the index plus one, 0
// for an empty slot.
type ctxSlot struct {
	item uint32
	last int32
	w    float64
}

// sessSlot maps a candidate session to its index in scratch.cands; it is
// empty unless gen is the scratch's.
type sessSlot struct {
	s, gen, idx uint32
	ring        int32 // the context position of the ring it was last seen in
}

// cand is a candidate neighbour session: the latest stamp of its entries
// in the context's rings, its similarity and the distance of its latest
// shared item from the end of the context.
type cand struct {
	s    uint32
	step int32
	seq  uint64
	sim  float64
}

// newer reports whether candidate a is more recent than b: its latest
// entry in the context's rings is later. Stamps are unique to an entry,
// so this is a strict total order.
func newer(a, b *cand) bool {
	return a.seq > b.seq
}

// closer reports whether neighbour a comes before b: more similar, or as
// similar and more recent.
func closer(a, b *cand) bool {
	if a.sim != b.sim {
		return a.sim > b.sim
	}
	return newer(a, b)
}

type scoredIdx struct {
	i     uint32
	score float64
}

func (m *Model) getScratch(st *state) *scratch {
	sc, _ := m.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	sc.gen++
	if sc.gen == 0 { // wrapped: forget every mark
		clear(sc.stab[:cap(sc.stab)])
		sc.gen = 1
	}
	sc.vclear()
	sc.vsize(minVBits)
	sc.cands, sc.out = sc.cands[:0], sc.out[:0]
	sc.ctx = sc.ctx[:0]
	return sc
}

// minVBits is log2 of the score table's size when a request starts.
const minVBits = 9

// vclear empties the score table and arrays.
func (sc *scratch) vclear() {
	mask := uint32(len(sc.vtab) - 1)
	for _, i := range sc.items {
		h := (i * 0x9e3779b1) >> (32 - sc.vbits)
		for sc.vtab[h].item != i+1 {
			h = (h + 1) & mask
		}
		sc.vtab[h] = vslot{}
	}
	sc.items, sc.scores, sc.flags = sc.items[:0], sc.scores[:0], sc.flags[:0]
}

// vsize sets the score table's size to 1<<bits slots. It is empty.
func (sc *scratch) vsize(bits uint8) {
	size := 1 << bits
	if cap(sc.vtab) < size {
		sc.vtab = make([]vslot, size)
	}
	sc.vtab = sc.vtab[:size]
	sc.vbits = bits
}

// reserve makes room in the score table for n more items, at most half
// full.
func (sc *scratch) reserve(n int) {
	bits := sc.vbits
	for 1<<bits < 2*(len(sc.items)+n) {
		bits++
	}
	if bits == sc.vbits {
		return
	}
	mask := uint32(len(sc.vtab) - 1)
	for _, i := range sc.items { // empty the table, keep the arrays
		h := (i * 0x9e3779b1) >> (32 - sc.vbits)
		for sc.vtab[h].item != i+1 {
			h = (h + 1) & mask
		}
		sc.vtab[h] = vslot{}
	}
	sc.vsize(bits)
	mask = uint32(len(sc.vtab) - 1)
	for k, i := range sc.items {
		h := (i * 0x9e3779b1) >> (32 - sc.vbits)
		for sc.vtab[h].item != 0 {
			h = (h + 1) & mask
		}
		sc.vtab[h] = vslot{item: i + 1, k: uint32(k)}
	}
}

// entry returns item i's index in the scored arrays, adding it.
func (sc *scratch) entry(i uint32) int {
	mask := uint32(len(sc.vtab) - 1)
	h := (i * 0x9e3779b1) >> (32 - sc.vbits)
	for {
		x := &sc.vtab[h]
		if x.item == i+1 {
			return int(x.k)
		}
		if x.item == 0 {
			return sc.add(i)
		}
		h = (h + 1) & mask
	}
}

// add enters item i, which the score table lacks, and returns its index.
func (sc *scratch) add(i uint32) int {
	sc.reserve(1)
	mask := uint32(len(sc.vtab) - 1)
	h := (i * 0x9e3779b1) >> (32 - sc.vbits)
	for sc.vtab[h].item != 0 {
		h = (h + 1) & mask
	}
	k := len(sc.items)
	sc.vtab[h] = vslot{item: i + 1, k: uint32(k)}
	sc.items = append(sc.items, i)
	sc.scores = append(sc.scores, 0)
	sc.flags = append(sc.flags, 0)
	return k
}

// lookup returns item i's index in the scored arrays, -1 if it has none.
func (sc *scratch) lookup(i uint32) int {
	mask := uint32(len(sc.vtab) - 1)
	h := (i * 0x9e3779b1) >> (32 - sc.vbits)
	for {
		x := &sc.vtab[h]
		if x.item == i+1 {
			return int(x.k)
		}
		if x.item == 0 {
			return -1
		}
		h = (h + 1) & mask
	}
}

// grow returns s extended with zeros to length n.
func grow[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// stabReset sizes the candidate table for n sessions at most half full
// (it is empty: its slots' gen are older).
func (sc *scratch) stabReset(n int) {
	size := 64
	for size < 2*n {
		size <<= 1
	}
	if cap(sc.stab) < size {
		sc.stab = make([]sessSlot, size)
	}
	sc.stab = sc.stab[:size]
}

// ctxReset empties the context table, sized for n items at most a
// quarter full.
func (sc *scratch) ctxReset(n int) {
	bits := uint8(5)
	for 1<<bits < 4*n {
		bits++
	}
	size := 1 << bits
	if cap(sc.ctab) < size {
		sc.ctab = make([]ctxSlot, size)
	}
	sc.ctab = sc.ctab[:size]
	clear(sc.ctab)
	sc.cbits = bits
}

// ctxFind returns the context table's slot of item i: its own, or the
// empty one where it would go.
func (sc *scratch) ctxFind(i uint32) *ctxSlot {
	mask := uint32(len(sc.ctab) - 1)
	h := (i * 0x9e3779b1) >> (32 - sc.cbits)
	for {
		c := &sc.ctab[h]
		if c.item == i+1 || c.item == 0 {
			return c
		}
		h = (h + 1) & mask
	}
}

// exclude marks item i as never to recommend.
func (sc *scratch) exclude(i uint32) { sc.flags[sc.entry(i)] |= excluded }

// vote adds v to the score of item i.
func (sc *scratch) vote(i uint32, v float64) { sc.scores[sc.entry(i)] += v }

// positionWeight weighs the item at 1-based position i of a context of n.
func positionWeight(w Weighting, i, n int) float64 {
	switch w {
	case WeightSame:
		return 1
	case WeightDiv:
		return float64(i) / float64(n)
	case WeightQuadratic:
		r := float64(i) / float64(n)
		return r * r
	case WeightLinear:
		return max(0, 1-0.1*float64(n-i))
	case WeightLog:
		return 1 / math.Log10(float64(n-i)+2.7)
	}
	return 1
}

// matchWeight weighs a neighbour whose latest shared item is i positions
// from the end of the context (1 for the most recent item).
func matchWeight(w Weighting, i int) float64 {
	switch w {
	case WeightSame:
		return 1
	case WeightDiv:
		return 1 / float64(i)
	case WeightQuadratic:
		return 1 / float64(i*i)
	case WeightLinear:
		return max(0, 1-0.1*float64(i-1))
	case WeightLog:
		return 1 / math.Log10(float64(i)+1.7)
	}
	return 1
}

// sknn scores the next item after the context sc.ctx (item indexes, most
// recent last) by vector-multiplication session-kNN (V-SKNN, Ludewig and
// Jannach): the candidate neighbours are the most recent SampleSize sessions
// among those holding an item of the context; a neighbour's similarity is
// the sum of the position weights of the context items it holds, over the
// number of distinct context items; the Neighbors most similar vote for
// each of their items with their similarity times the match weight of their
// latest shared item. Session slot self (the visitor's own live session, or
// -1) is never a neighbour. The scores land in sc.scores, for sc.items.
func (st *state) sknn(sc *scratch, self int64) {
	cfg := &st.cfg
	ctx := sc.ctx
	n := len(ctx)
	if n == 0 {
		return
	}
	sc.ctxReset(n)
	// The match weights of steps 1 to n, computed once.
	sc.mw = sc.mw[:0]
	for d := range n + 1 {
		sc.mw = append(sc.mw, matchWeight(cfg.MatchWeighting, max(d, 1)))
	}
	mw := sc.mw
	distinct := 0
	for p, i := range ctx {
		c := sc.ctxFind(i)
		if c.item == 0 {
			c.item = i + 1
			distinct++
		}
		c.w = positionWeight(cfg.PositionWeighting, p+1, n)
		c.last = int32(p)
	}
	// The candidates are the sessions of the context items' rings, each
	// with the sum of the weights of the context items whose rings hold
	// it, read in one sweep of the rings.
	entries := 0
	for p, i := range ctx {
		if int(sc.ctxFind(i).last) == p {
			entries += len(st.items[i].ring.s)
		}
	}
	sc.sink = st.touchLists(sc, ctx)
	sc.stabReset(entries)
	mask := uint32(len(sc.stab) - 1)
	for p, i := range ctx {
		x := sc.ctxFind(i)
		if int(x.last) != p { // each item's ring once
			continue
		}
		w, step := x.w, int32(n-p)
		r := &st.items[i].ring
		seqs := r.seq[:len(r.s)]
		for e, s := range r.s {
			if int64(s) == self {
				continue
			}
			h := (s * 0x9e3779b1) & mask
			for {
				t := &sc.stab[h]
				if t.gen != sc.gen {
					*t = sessSlot{s: s, gen: sc.gen, idx: uint32(len(sc.cands)), ring: int32(p)}
					sc.cands = append(sc.cands, cand{s: s, step: step, seq: seqs[e], sim: w})
					break
				}
				if t.s == s {
					c := &sc.cands[t.idx]
					if t.ring != int32(p) { // a session a ring holds twice counts once
						t.ring = int32(p)
						c.sim += w
						c.step = min(c.step, step)
					}
					c.seq = max(c.seq, seqs[e])
					break
				}
				h = (h + 1) & mask
			}
		}
	}
	cands := sc.cands
	// The sample is the set of the most recent: those whose stamp is at
	// least the SampleSize-th largest (stamps are unique), found among
	// the bare stamps; its order does not matter (the neighbours are
	// sorted below).
	oldest := uint64(0)
	if len(cands) > cfg.SampleSize {
		seqs := sc.seqs[:0]
		for _, c := range cands {
			seqs = append(seqs, c.seq)
		}
		sc.seqs = seqs
		oldest = kthLargest(seqs, cfg.SampleSize)
	}
	k := 0
	for _, c := range cands {
		if c.seq >= oldest && c.sim > 0 {
			c.sim /= float64(distinct)
			cands[k] = c
			k++
		}
	}
	cands = cands[:k]
	// Sorted, so that every item sums its votes in the same order whatever
	// the slots and ring rotations (a snapshot renumbers them).
	k = min(len(cands), cfg.Neighbors)
	selectCands(cands, k, true)
	sortCands(cands[:k])
	// Touch the neighbours' hot lines first: independent loads, whose
	// cache misses overlap, unlike those of the votes below.
	var sum int32
	for _, c := range cands[:k] {
		sum += st.hot[c.s].n
	}
	sc.sink = sum + st.touchLong(cands[:k])
	votes := int(sum) + n
	for p := n - 1; p >= 0 && p >= n-seqDepth; p-- {
		votes += len(st.items[ctx[p]].next)
	}
	sc.reserve(votes)
	for _, c := range cands[:k] {
		v := c.sim * mw[c.step]
		for _, i := range st.sessItems(c.s) {
			sc.vote(i, v)
		}
	}
	// Each vote for item i is raised by the same factor 1+IDFWeight·idf(i).
	if cfg.IDFWeight > 0 {
		logSess := math.Log(float64(max(st.nSess, 1)))
		scores := sc.scores[:len(sc.items)]
		for k, i := range sc.items {
			idf := logSess - st.logDF[i]
			scores[k] *= 1 + cfg.IDFWeight*idf
		}
	}
	// Normalise the session-kNN scores to a best of 1, then add the
	// sequential scores and the reminders on that scale.
	top := 0.0
	for _, s := range sc.scores {
		if s > top { // scores are finite and not negative
			top = s
		}
	}
	if top > 0 {
		for k := range sc.scores {
			sc.scores[k] /= top
		}
	}
	if sw := cfg.SequenceWeight; sw > 0 {
		for p := n - 1; p >= 0 && p >= n-seqDepth; p-- {
			i := ctx[p]
			if int(sc.ctxFind(i).last) != p {
				continue
			}
			tot := st.items[i].nextTot
			if tot <= 0 {
				continue
			}
			m := mw[n-p]
			for _, e := range st.items[i].next {
				sc.vote(e.j, sw*m*float64(e.w)/tot)
			}
		}
	}
	if rw := cfg.RemindWeight; rw > 0 {
		for p, i := range ctx {
			if int(sc.ctxFind(i).last) == p {
				sc.vote(i, rw*mw[n-p])
			}
		}
	}
}

// touchLists reads a word of every cache line of the context items'
// rings and of the sequence lists of its latest items, as independent
// loads whose cache misses overlap: short arrays in random places, which
// the hardware prefetcher would not fetch ahead of the sweeps.
func (st *state) touchLists(sc *scratch, ctx []uint32) int32 {
	var sum uint32
	n := len(ctx)
	for p, i := range ctx {
		if int(sc.ctxFind(i).last) != p {
			continue
		}
		x := &st.items[i]
		r := &x.ring
		for j := 0; j < len(r.s); j += 16 {
			sum += r.s[j]
		}
		for j := 0; j < len(r.seq); j += 8 {
			sum += uint32(r.seq[j])
		}
		if p >= n-seqDepth {
			for j := 0; j < len(x.next); j += 8 {
				sum += x.next[j].j
			}
		}
	}
	return int32(sum)
}

// touchLong reads the items of the neighbours whose items do not fit in
// their hot line, a word per cache line, as independent loads.
func (st *state) touchLong(nb []cand) int32 {
	var sum uint32
	for _, c := range nb {
		if st.hot[c.s].n > hotItems {
			items := st.sessions[c.s].items
			for j := 0; j < len(items); j += 16 {
				sum += items[j]
			}
		}
	}
	return int32(sum)
}

// kthLargest returns the k-th largest of a (1 ≤ k ≤ len(a)), reordering
// a.
func kthLargest(a []uint64, k int) uint64 {
	lo, hi := 0, len(a)-1
	k--
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three to hi, then partition: larger first.
		if a[mid] > a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] > a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[mid] > a[hi] {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot := a[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if a[i] > pivot {
				a[i], a[p] = a[p], a[i]
				p++
			}
		}
		a[p], a[hi] = a[hi], a[p]
		switch {
		case p == k:
			return a[p]
		case p < k:
			lo = p + 1
		default:
			hi = p - 1
		}
	}
	return a[k]
}

// before orders candidates by similarity (bySim) or by recency alone.
func before(a, b *cand, bySim bool) bool {
	if bySim {
		return closer(a, b)
	}
	return newer(a, b)
}

// selectCands moves the k first candidates, by similarity or by recency,
// to a[:k], in no order: selectTop without its sort, with the order
// inlined.
func selectCands(a []cand, k int, bySim bool) {
	if k <= 0 || k >= len(a) {
		return
	}
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if before(&a[mid], &a[lo], bySim) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if before(&a[hi], &a[lo], bySim) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if before(&a[mid], &a[hi], bySim) {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot := a[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if before(&a[i], &pivot, bySim) {
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

// sortCands sorts neighbours by similarity (closer), a strict total order.
func sortCands(a []cand) {
	for len(a) > 12 {
		// Median of three to a[0], then partition around it.
		mid, hi := len(a)/2, len(a)-1
		if closer(&a[mid], &a[0]) {
			a[mid], a[0] = a[0], a[mid]
		}
		if closer(&a[hi], &a[0]) {
			a[hi], a[0] = a[0], a[hi]
		}
		if closer(&a[hi], &a[mid]) {
			a[hi], a[mid] = a[mid], a[hi]
		}
		a[0], a[mid] = a[mid], a[0]
		pivot := a[0]
		p := 1
		for i := 1; i < len(a); i++ {
			if closer(&a[i], &pivot) {
				a[i], a[p] = a[p], a[i]
				p++
			}
		}
		a[0], a[p-1] = a[p-1], a[0]
		// Recurse into the smaller side, loop on the larger.
		if p-1 < len(a)-p {
			sortCands(a[:p-1])
			a = a[p:]
		} else {
			sortCands(a[p:])
			a = a[:p-1]
		}
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && closer(&a[j], &a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
