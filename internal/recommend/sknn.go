package recommend

import (
	"cmp"
	"math"
)

// scratch is the working memory of one request, reused through a pool so
// that a request allocates almost nothing. Arrays indexed by item or
// session slot are valid where their mark equals gen.
type scratch struct {
	gen       uint32
	sessMark  []uint32 // session slot → gen when it became a candidate
	itemMark  []uint32 // item → gen when it is in the context
	itemW     []float64
	itemLast  []int32 // item → its last position in the context
	scoreMark []uint32
	exclMark  []uint32 // item → gen when the request excludes it
	score     []float64
	touched   []uint32 // items with a score, in order of first vote
	cands     []cand
	out       []scoredIdx
	ctx       []uint32
}

type cand struct {
	s      uint32
	step   int32
	last   int64
	serial int64
	sim    float64
}

// byRecency orders candidate sessions by their latest event, newest first;
// ties go to the later created.
func byRecency(a, b cand) int {
	if c := cmp.Compare(b.last, a.last); c != 0 {
		return c
	}
	return cmp.Compare(b.serial, a.serial)
}

// bySimilarity orders neighbours by similarity, then by recency.
func bySimilarity(a, b cand) int {
	if c := cmp.Compare(b.sim, a.sim); c != 0 {
		return c
	}
	return byRecency(a, b)
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
		clear(sc.sessMark)
		clear(sc.itemMark)
		clear(sc.scoreMark)
		clear(sc.exclMark)
		sc.gen = 1
	}
	if n := len(st.items); len(sc.itemMark) < n {
		n += n / 4
		sc.itemMark = grow(sc.itemMark, n)
		sc.scoreMark = grow(sc.scoreMark, n)
		sc.exclMark = grow(sc.exclMark, n)
		sc.itemW = grow(sc.itemW, n)
		sc.itemLast = grow(sc.itemLast, n)
		sc.score = grow(sc.score, n)
	}
	if n := len(st.sessions); len(sc.sessMark) < n {
		sc.sessMark = grow(sc.sessMark, n+n/4)
	}
	sc.touched, sc.cands, sc.out = sc.touched[:0], sc.cands[:0], sc.out[:0]
	sc.ctx = sc.ctx[:0]
	return sc
}

// grow returns s extended with zeros to length n.
func grow[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// exclude marks item i as never to recommend.
func (sc *scratch) exclude(i uint32) { sc.exclMark[i] = sc.gen }

// vote adds v to the score of item i.
func (sc *scratch) vote(i uint32, v float64) {
	if sc.scoreMark[i] != sc.gen {
		sc.scoreMark[i] = sc.gen
		sc.score[i] = 0
		sc.touched = append(sc.touched, i)
	}
	sc.score[i] += v
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
// -1) is never a neighbour. The scores land in sc.score for sc.touched.
func (st *state) sknn(sc *scratch, self int64) {
	cfg := &st.cfg
	ctx := sc.ctx
	n := len(ctx)
	distinct := 0
	for p, i := range ctx {
		if sc.itemMark[i] != sc.gen {
			sc.itemMark[i] = sc.gen
			distinct++
		}
		sc.itemW[i] = positionWeight(cfg.PositionWeighting, p+1, n)
		sc.itemLast[i] = int32(p)
	}
	if distinct == 0 {
		return
	}
	for p, i := range ctx {
		if int(sc.itemLast[i]) != p { // each item's ring once
			continue
		}
		for _, s := range st.items[i].ring.s {
			if sc.sessMark[s] != sc.gen && int64(s) != self {
				sc.sessMark[s] = sc.gen
				ss := &st.sessions[s]
				sc.cands = append(sc.cands, cand{s: s, last: ss.last, serial: ss.serial})
			}
		}
	}
	cands := sc.cands
	if len(cands) > cfg.SampleSize {
		// The set of the most recent; its order does not matter (the
		// neighbours are sorted below).
		quickselect(cands, cfg.SampleSize, byRecency)
		cands = cands[:cfg.SampleSize]
	}
	k := 0
	for _, c := range cands {
		sim, step := 0.0, int32(n+1)
		for _, i := range st.sessions[c.s].items {
			if sc.itemMark[i] == sc.gen {
				sim += sc.itemW[i]
				step = min(step, int32(n)-sc.itemLast[i])
			}
		}
		if sim > 0 {
			sim /= float64(distinct)
			c.step, c.sim = step, sim
			cands[k] = c
			k++
		}
	}
	cands = cands[:k]
	// Sorted, so that every item sums its votes in the same order whatever
	// the slots and ring rotations (a snapshot renumbers them).
	selectTop(cands, min(len(cands), cfg.Neighbors), bySimilarity)
	cands = cands[:min(len(cands), cfg.Neighbors)]
	for _, c := range cands {
		v := c.sim * matchWeight(cfg.MatchWeighting, int(c.step))
		for _, i := range st.sessions[c.s].items {
			sc.vote(i, v)
		}
	}
	// Each vote for item i is raised by the same factor 1+IDFWeight·idf(i).
	if cfg.IDFWeight > 0 {
		logSess := math.Log(float64(max(st.nSess, 1)))
		for _, i := range sc.touched {
			idf := logSess - st.items[i].logDF
			sc.score[i] *= 1 + cfg.IDFWeight*idf
		}
	}
	// Normalise the session-kNN scores to a best of 1, then add the
	// sequential scores and the reminders on that scale.
	top := 0.0
	for _, i := range sc.touched {
		top = max(top, sc.score[i])
	}
	if top > 0 {
		for _, i := range sc.touched {
			sc.score[i] /= top
		}
	}
	if sw := cfg.SequenceWeight; sw > 0 {
		for p := n - 1; p >= 0 && p >= n-seqDepth; p-- {
			i := ctx[p]
			if int(sc.itemLast[i]) != p {
				continue
			}
			tot := st.items[i].nextTot
			if tot <= 0 {
				continue
			}
			mw := matchWeight(cfg.MatchWeighting, n-p)
			for j, c := range st.items[i].next {
				sc.vote(j, sw*mw*float64(c)/tot)
			}
		}
	}
	if rw := cfg.RemindWeight; rw > 0 {
		for p, i := range ctx {
			if int(sc.itemLast[i]) == p {
				sc.vote(i, rw*matchWeight(cfg.MatchWeighting, n-p))
			}
		}
	}
}
