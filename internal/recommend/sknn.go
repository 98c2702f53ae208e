package recommend

import (
	"math"
	"math/bits"
)

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
	// The candidates, by index in order of entry: session, latest stamp,
	// and a bitmask of the context's rings that hold it (words of it per
	// candidate), bit r for the r-th ring swept.
	cs    []uint32
	cseq  []uint64
	cmask []uint64
	// The swept rings' position weights and steps, by sweep order.
	rw    []float64
	rstep []int32
	seqs  []uint64  // the candidates' stamps, for the sample
	nbs   []sampled // the sampled candidates, then the neighbours
	mw    []float64 // match weight by step
	out   []scoredIdx
	ctx   []uint32
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

// sessSlot maps a candidate session to its index in the scratch's
// candidate arrays; it is empty unless gen is the scratch's.
type sessSlot struct {
	s, gen, idx uint32
}

// sampled is a sampled candidate neighbour session: its similarity as the
// bits of a float64 that is not negative (which order as the numbers
// do), the latest stamp of its entries in the context's rings, and the
// distance of its latest shared item from the end of the context.
type sampled struct {
	sim  uint64
	seq  uint64
	s    uint32
	step int32
}

// closer reports whether neighbour a comes before b: more similar, or as
// similar and more recent (its latest entry in the context's rings is
// later). Stamps are unique to an entry, so this is a strict total order.
func closer(a, b *sampled) bool {
	return a.sim > b.sim || a.sim == b.sim && a.seq > b.seq
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
	sc.out = sc.out[:0]
	sc.ctx = sc.ctx[:0]
	return sc
}

// minVBits is log2 of the score table's size when a request starts.
const minVBits = 9

// vclear empties the score table and arrays: the whole table at once
// unless its items are few (clearing a slot costs far less than finding
// an item's).
func (sc *scratch) vclear() {
	if len(sc.vtab) <= 16*len(sc.items) {
		clear(sc.vtab)
		sc.items, sc.scores, sc.flags = sc.items[:0], sc.scores[:0], sc.flags[:0]
		return
	}
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

// voteNext adds a·w/tot to the score of each item of next, of weight
// w: sc.vote, inlined. The table must have room for every item of next.
func (sc *scratch) voteNext(next []nbr, a, tot float64) {
	vtab, vmask, shift := sc.vtab, uint32(len(sc.vtab)-1), 32-sc.vbits
	items, scores, flags := sc.items, sc.scores, sc.flags
	for _, e := range next {
		v, i := a*float64(e.w)/tot, e.j
		h := (i * 0x9e3779b1) >> shift
		for {
			x := &vtab[h&vmask]
			if x.item == i+1 {
				scores[x.k] += v
				break
			}
			if x.item == 0 {
				*x = vslot{item: i + 1, k: uint32(len(items))}
				items = append(items, i)
				scores = append(scores, 0+v)
				flags = append(flags, 0)
				break
			}
			h++
		}
	}
	sc.items, sc.scores, sc.flags = items, scores, flags
}

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
	// The candidates are the sessions of the context items' rings, read
	// in one sweep of the rings, each with the set of the rings that hold
	// it (a session a ring holds twice counts once).
	entries := 0
	sc.rw, sc.rstep = sc.rw[:0], sc.rstep[:0]
	for p, i := range ctx {
		if x := sc.ctxFind(i); int(x.last) == p {
			entries += len(st.items[i].ring.s)
			sc.rw = append(sc.rw, x.w)
			sc.rstep = append(sc.rstep, int32(n-p))
		}
	}
	sc.sink = st.touchLists(sc, ctx)
	sc.stabReset(entries)
	words := (len(sc.rw) + 63) / 64
	sc.cs = grow(sc.cs[:0], entries)
	sc.cseq = grow(sc.cseq[:0], entries)
	sc.cmask = grow(sc.cmask[:0], entries*words)
	cs, cseq, cmask := sc.cs[:entries], sc.cseq[:entries], sc.cmask[:entries*words]
	clear(cmask)
	mask, gen, stab := uint32(len(sc.stab)-1), sc.gen, sc.stab
	nc := uint32(0)
	r := 0
	for p, i := range ctx {
		if int(sc.ctxFind(i).last) != p { // each item's ring once
			continue
		}
		word, bit := r/64, uint64(1)<<(r%64)
		r++
		ring := &st.items[i].ring
		seqs := ring.seq[:len(ring.s)]
		for e, s := range ring.s {
			if int64(s) == self {
				continue
			}
			h := (s * 0x9e3779b1) & mask
			for {
				t := &stab[h]
				if t.gen != gen {
					*t = sessSlot{s: s, gen: gen, idx: nc}
					cs[nc], cseq[nc] = s, seqs[e]
					cmask[int(nc)*words+word] = bit
					nc++
					break
				}
				if t.s == s {
					cmask[int(t.idx)*words+word] |= bit
					cseq[t.idx] = max(cseq[t.idx], seqs[e])
					break
				}
				h = (h + 1) & mask
			}
		}
	}
	// The sample is the set of the most recent: those whose stamp is at
	// least the SampleSize-th largest (stamps are unique), found among
	// a copy of the stamps; its order does not matter (the neighbours are
	// sorted below).
	oldest := uint64(0)
	if int(nc) > cfg.SampleSize {
		sc.seqs = append(sc.seqs[:0], cseq[:nc]...)
		oldest = kthLargest(sc.seqs, cfg.SampleSize)
	}
	// A sampled candidate's similarity is the sum of the position weights
	// of the context items whose rings hold it, added in context order;
	// its step is that of the latest of them.
	nbs := sc.nbs[:0]
	rw, rstep := sc.rw, sc.rstep
	for c := range int(nc) {
		if cseq[c] < oldest {
			continue
		}
		sim, last := 0.0, 0
		for wd, m := range cmask[c*words : (c+1)*words] {
			for ; m != 0; m &= m - 1 {
				last = wd*64 + bits.TrailingZeros64(m)
				sim += rw[last]
			}
		}
		if sim > 0 {
			sim /= float64(distinct)
			nbs = append(nbs, sampled{sim: math.Float64bits(sim), seq: cseq[c], s: cs[c], step: rstep[last]})
		}
	}
	sc.nbs = nbs
	// Sorted, so that every item sums its votes in the same order whatever
	// the slots and ring rotations (a snapshot renumbers them).
	k := min(len(nbs), cfg.Neighbors)
	selectNbrs(nbs, k)
	sortNbrs(nbs[:k])
	// Touch the neighbours' hot lines first: independent loads, whose
	// cache misses overlap, unlike those of the votes below.
	var sum int32
	for _, c := range nbs[:k] {
		sum += st.hot[c.s].n
	}
	sc.sink = sum + st.touchLong(nbs[:k])
	votes := int(sum) + n
	for p := n - 1; p >= 0 && p >= n-seqDepth; p-- {
		votes += len(st.items[ctx[p]].next)
	}
	sc.reserve(votes)
	// sc.vote, inlined: the table has room for every vote.
	vtab, vmask, shift := sc.vtab, uint32(len(sc.vtab)-1), 32-sc.vbits
	items, scores, flags := sc.items, sc.scores, sc.flags
	for _, c := range nbs[:k] {
		v := math.Float64frombits(c.sim) * mw[c.step]
		for _, i := range st.sessItems(c.s) {
			h := (i * 0x9e3779b1) >> shift
			for {
				x := &vtab[h&vmask]
				if x.item == i+1 {
					scores[x.k] += v
					break
				}
				if x.item == 0 {
					*x = vslot{item: i + 1, k: uint32(len(items))}
					items = append(items, i)
					scores = append(scores, 0+v)
					flags = append(flags, 0)
					break
				}
				h++
			}
		}
	}
	sc.items, sc.scores, sc.flags = items, scores, flags
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
			sc.voteNext(st.items[i].next, sw*mw[n-p], tot)
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
func (st *state) touchLong(nb []sampled) int32 {
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

// selectNbrs moves the k closest neighbours to a[:k], in no order.
func selectNbrs(a []sampled, k int) {
	if k <= 0 || k >= len(a) {
		return
	}
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if closer(&a[mid], &a[lo]) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if closer(&a[hi], &a[lo]) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if closer(&a[mid], &a[hi]) {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot := a[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if closer(&a[i], &pivot) {
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

// sortNbrs sorts neighbours by closer, a strict total order.
func sortNbrs(a []sampled) {
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
			sortNbrs(a[:p-1])
			a = a[p:]
		} else {
			sortNbrs(a[p:])
			a = a[:p-1]
		}
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && closer(&a[j], &a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
