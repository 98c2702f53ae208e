package recommend

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// Model learns from interactions one at a time and answers recommendation
// requests from memory.
//
// A Model is safe for concurrent use. Observe, Refresh and ReadFrom take a
// write lock for the few microseconds an update lasts (a rebuild of the
// popular and trending lists, from time to time, takes longer: see
// Refresh); Recommend, Stats and WriteTo share a read lock, so any number of
// readers run in parallel with each other. The intended use is one writer
// (the consumer of hits) and many readers (the HTTP handlers).
//
// The zero value is a Model with the default Config, ready to use.
type Model struct {
	mu sync.RWMutex
	st *state // nil until the first write

	cfg     Config // as given to New; defaults are applied in state
	scratch sync.Pool
}

// New returns an empty Model with the settings of cfg.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg}
	m.st = newState(cfg.WithDefaults())
	return m, nil
}

// Config returns the model's settings, with defaults filled in.
func (m *Model) Config() Config {
	return m.cfg.WithDefaults()
}

// state is everything a Model knows. It is guarded by Model.mu.
type state struct {
	cfg Config

	ids   map[string]uint32 // item id → index in items
	items []item
	// Parallel to items, dense for the requests' random reads.
	logDF []float64 // log(max(df, 1)), for session-kNN's idf
	catOf []uint32  // category id, 0 for none

	cats map[string]uint32 // category → id (from 1)

	sessions []session
	hot      []sessHot         // parallel to sessions: what session-kNN reads
	free     []uint32          // free slots of sessions
	live     map[string]uint32 // visitor key → current session
	nSess    int64             // sessions ever started (for idf)
	pushes   uint64            // ring entries ever made (their stamps)

	now          int64 // latest event time seen, Unix nanoseconds
	observed     uint64
	sinceRefresh int   // events since the lists were rebuilt
	lastLive     int64 // when live sessions were last swept

	dec   decay
	lists lists

	// sims caches each item's similar items; an entry is valid for the
	// item's simVer and the lists' epoch.
	sims        simCache
	epoch       uint64 // rebuilds of the lists
	simCacheOff bool   // for tests: compute similar items every time
}

// item is what the model knows of one item.
type item struct {
	name     string
	category string
	ring     ring    // the most recent sessions holding the item
	df       int32   // sessions that ever held the item (see state.logDF)
	weight   float64 // sum over sessions of the item's kind weight in it
	orders   int32   // sessions in which the item was ordered
	pop      float64 // decayed weighted count, popular half-life (see decay)
	short    float64 // decayed weighted count, trending half-life
	co       nbrs    // co-occurrence within sessions, weighted by kind
	bought   nbrs    // co-occurrence among the items ordered in a session
	next     nbrs    // items that followed this one in a session, by 1/distance
	nextTot  float64 // the sum of next's weights
	simVer   uint32  // changes with co and weight (see simCache)
}

// session is one visit: the distinct items of a visitor's session in the
// order of their latest occurrence, with the strongest kind per item.
//
// Its time and serial are in the session's sessHot.
type session struct {
	items []uint32
	key   string // visitor key while the session is live, else ""
	id    string // the caller's session id, if any
	kinds []Kind
	refs  int32 // how many item rings hold the session
	used  bool  // false on a free slot
}

// sessHot is what session-kNN reads of a session, in one 64-byte cache
// line: its recency, to pick the candidates, and its items, to score them
// (a copy of session.items when it has at most hotItems, which most
// sessions have).
type sessHot struct {
	last   int64 // time of the latest event, Unix nanoseconds
	serial int64 // order of creation, for ties
	n      int32 // len(session.items)
	items  [hotItems]uint32
}

const hotItems = 11

// sessItems returns the items of session s, from its hot line when they
// fit there.
func (st *state) sessItems(s uint32) []uint32 {
	h := &st.hot[s]
	if h.n <= hotItems {
		return h.items[:h.n]
	}
	return st.sessions[s].items
}

// syncHot copies session s's items to its hot line.
func (st *state) syncHot(s uint32) {
	items := st.sessions[s].items
	h := &st.hot[s]
	h.n = int32(len(items))
	if len(items) <= hotItems {
		copy(h.items[:], items)
	}
}

// setCategory sets item i's category.
func (st *state) setCategory(i uint32, c string) {
	if st.items[i].category == c {
		return
	}
	st.items[i].category = c
	id, ok := st.cats[c]
	if !ok {
		id = uint32(len(st.cats) + 1)
		st.cats[c] = id
	}
	st.catOf[i] = id
}

func newState(cfg Config) *state {
	return &state{
		cfg:  cfg,
		ids:  make(map[string]uint32),
		live: make(map[string]uint32),
		cats: make(map[string]uint32),
	}
}

// write runs f under the write lock with the state, creating it for a zero
// Model.
func (m *Model) write(f func(st *state)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		m.st = newState(m.cfg.WithDefaults())
	}
	f(m.st)
}

// Observe learns from one interaction. It returns an error wrapping
// ErrInvalidInteraction, and learns nothing, when in is invalid.
func (m *Model) Observe(in Interaction) error {
	if err := in.Validate(); err != nil {
		return err
	}
	m.write(func(st *state) { st.observe(in) })
	return nil
}

// Refresh rebuilds the popular and trending lists now. Observe rebuilds them
// once Config.RefreshEvery of event time has passed and enough events have
// arrived to pay for it (a quarter of the item count plus twice the list
// lengths), or at the latest after 60·RefreshEvery; call Refresh after a
// batch load, before serving. A rebuild costs O(items + Config.TopListLen·
// log Config.TopListLen) under the write lock: about a millisecond for
// 10,000 items.
func (m *Model) Refresh() {
	m.write(func(st *state) { st.refresh() })
}

// Stats are the sizes of a Model.
type Stats struct {
	Items        int    // distinct items seen
	Sessions     int    // sessions held in memory
	LiveSessions int    // sessions still open
	Observed     uint64 // interactions learnt from
}

// Forget detaches the visitor's live session, if any, from them (for an
// erasure): it becomes anonymous, as every closed session is, and the
// visitor's next interaction starts a new one. Its items stay in the
// co-occurrence counts, which hold no identifier.
func (m *Model) Forget(visitor string) {
	m.write(func(st *state) {
		if s, ok := st.live[visitor]; ok {
			st.sessions[s].id = ""
			st.close(s)
		}
	})
}

// Stats returns the model's sizes.
func (m *Model) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.st == nil {
		return Stats{}
	}
	return Stats{
		Items:        len(m.st.items),
		Sessions:     len(m.st.sessions) - len(m.st.free),
		LiveSessions: len(m.st.live),
		Observed:     m.st.observed,
	}
}

func (st *state) observe(in Interaction) {
	t := in.Time.UnixNano()
	if t > st.now {
		st.now = t
	}
	st.observed++
	it := st.intern(in.Item)
	if in.Category != "" {
		st.setCategory(it, in.Category)
	}
	s := st.liveSession(in, t)
	st.addToSession(s, it, in.Kind, t)
	st.dec.add(st, it, in.Kind.weight(), t)

	if gap := int64(st.cfg.SessionGap); st.now-st.lastLive > gap {
		st.closeIdle()
		st.lastLive = st.now
	}
	st.sinceRefresh++
	if st.refreshDue() {
		st.refresh()
	}
}

// refreshDue reports whether Observe should rebuild the popular and
// trending lists (see Refresh). A fast replay of old hits thus rebuilds
// rarely, a live stream about every RefreshEvery.
func (st *state) refreshDue() bool {
	elapsed := st.now - st.lists.built
	every := int64(st.cfg.RefreshEvery)
	if elapsed < every {
		return false
	}
	return 4*st.sinceRefresh >= len(st.items)+8*st.cfg.TopListLen || elapsed >= 60*every
}

// intern returns the index of item id, adding it if new.
func (st *state) intern(id string) uint32 {
	if i, ok := st.ids[id]; ok {
		return i
	}
	i := uint32(len(st.items))
	st.ids[id] = i
	st.items = append(st.items, item{name: id})
	st.logDF = append(st.logDF, 0)
	st.sims.grow(len(st.items))
	st.catOf = append(st.catOf, 0)
	return i
}

// liveSession returns the current session of the interaction's visitor,
// starting a new one after an idle gap or a change of session id.
func (st *state) liveSession(in Interaction, t int64) uint32 {
	k := in.key()
	if s, ok := st.live[k]; ok {
		if st.sessions[s].id == in.Session && t-st.hot[s].last <= int64(st.cfg.SessionGap) {
			return s
		}
		st.close(s)
	}
	var s uint32
	if n := len(st.free); n > 0 {
		s = st.free[n-1]
		st.free = st.free[:n-1]
	} else {
		s = uint32(len(st.sessions))
		st.sessions = append(st.sessions, session{})
		st.hot = append(st.hot, sessHot{})
	}
	ss := &st.sessions[s]
	st.nSess++
	ss.key, ss.id, ss.refs, ss.used = k, in.Session, 0, true
	ss.items, ss.kinds = ss.items[:0], ss.kinds[:0]
	st.hot[s] = sessHot{last: t, serial: st.nSess}
	st.live[k] = s
	return s
}

// close ends a live session; it is freed once no item remembers it.
func (st *state) close(s uint32) {
	ss := &st.sessions[s]
	if ss.key != "" {
		delete(st.live, ss.key)
		ss.key = ""
	}
	if ss.refs <= 0 {
		st.release(s)
	}
}

// release frees a session slot, keeping its slices for reuse.
func (st *state) release(s uint32) {
	ss := &st.sessions[s]
	*ss = session{items: ss.items[:0], kinds: ss.kinds[:0]}
	st.hot[s] = sessHot{}
	st.free = append(st.free, s)
}

// closeIdle closes the live sessions idle for longer than the session gap.
func (st *state) closeIdle() {
	gap := int64(st.cfg.SessionGap)
	for _, s := range st.live {
		if st.now-st.hot[s].last > gap {
			st.close(s)
		}
	}
}

// addToSession records item it of kind k in session s and updates the
// co-occurrence of it with the session's other items.
func (st *state) addToSession(s uint32, it uint32, k Kind, t int64) {
	ss := &st.sessions[s]
	if h := &st.hot[s]; t > h.last {
		h.last = t
	}
	defer st.syncHot(s)
	w := k.weight()
	maxN := st.cfg.MaxItemNeighbors
	if n := len(ss.items); n > 0 && ss.items[n-1] != it {
		d := 1
		for q := n - 1; q >= 0 && d <= seqDepth; q-- {
			if a := ss.items[q]; a != it {
				x := &st.items[a]
				x.nextTot += 1/float64(d) - x.next.add(it, 1/float64(d), maxN)
				d++
			}
		}
	}
	for p, o := range ss.items {
		if o != it {
			continue
		}
		old := ss.kinds[p]
		if k > old {
			ow := old.weight()
			for q, a := range ss.items {
				if a == it {
					continue
				}
				aw := ss.kinds[q].weight()
				if d := min(aw, w) - min(aw, ow); d > 0 {
					st.coAdd(a, it, d)
					st.coAdd(it, a, d)
				}
			}
			st.items[it].weight += w - ow
			st.items[it].simVer++
			if k == Order {
				st.ordered(ss, it)
			}
			ss.kinds[p] = k
		}
		// Move it to the end: the items stay in order of latest occurrence.
		copy(ss.items[p:], ss.items[p+1:])
		copy(ss.kinds[p:], ss.kinds[p+1:])
		ss.items[len(ss.items)-1] = it
		ss.kinds[len(ss.kinds)-1] = max(k, old)
		return
	}
	for q, a := range ss.items {
		c := min(ss.kinds[q].weight(), w)
		st.coAdd(a, it, c)
		st.coAdd(it, a, c)
	}
	if k == Order {
		st.ordered(ss, it)
	}
	if len(ss.items) >= st.cfg.MaxSessionLen {
		n := copy(ss.items, ss.items[1:])
		copy(ss.kinds, ss.kinds[1:])
		ss.items, ss.kinds = ss.items[:n], ss.kinds[:n]
	}
	ss.items = append(ss.items, it)
	ss.kinds = append(ss.kinds, k)
	x := &st.items[it]
	x.df++
	st.logDF[it] = math.Log(float64(x.df))
	x.weight += w
	x.simVer++
	st.pushes++
	if ev, ok := x.ring.push(s, st.pushes, st.cfg.SessionsPerItem); ok {
		st.unref(ev)
	}
	ss.refs++
}

// coAdd adds w to the co-occurrence of item a with item b, which changes
// a's similar items.
func (st *state) coAdd(a, b uint32, w float64) {
	x := &st.items[a]
	x.co.add(b, w, st.cfg.MaxItemNeighbors)
	x.simVer++
}

// seqDepth is how far back a session's items count as followed by a new
// item, for the sequential scores.
const seqDepth = 3

// ordered records that item it was bought in session ss, pairing it with
// the session's other bought items.
func (st *state) ordered(ss *session, it uint32) {
	maxN := st.cfg.MaxItemNeighbors
	for q, a := range ss.items {
		if a != it && ss.kinds[q] == Order {
			st.items[a].bought.add(it, 1, maxN)
			st.items[it].bought.add(a, 1, maxN)
		}
	}
	st.items[it].orders++
}

// unref drops one ring's reference to session s, freeing a closed session
// nobody remembers.
func (st *state) unref(s uint32) {
	ss := &st.sessions[s]
	ss.refs--
	if ss.refs <= 0 && ss.key == "" {
		st.release(s)
	}
}

// ring holds the most recent sessions of an item, up to a capacity, with
// the stamp of each entry: the model's count of ring entries made when it
// was made, so that the entries of all rings are ordered by recency.
type ring struct {
	s    []uint32
	seq  []uint64 // parallel to s
	head int      // index of the oldest entry once full
}

// push adds session s with stamp seq, evicting and returning the oldest
// entry when the ring already holds capacity entries.
func (r *ring) push(s uint32, seq uint64, capacity int) (evicted uint32, ok bool) {
	if len(r.s) < capacity {
		r.s = append(r.s, s)
		r.seq = append(r.seq, seq)
		return 0, false
	}
	evicted = r.s[r.head]
	r.s[r.head], r.seq[r.head] = s, seq
	r.head = (r.head + 1) % len(r.s)
	return evicted, true
}

// ordered returns the ring's sessions and their stamps, oldest first.
func (r *ring) ordered() ([]uint32, []uint64) {
	s := make([]uint32, 0, len(r.s))
	s = append(s, r.s[r.head:]...)
	seq := make([]uint64, 0, len(r.s))
	seq = append(seq, r.seq[r.head:]...)
	return append(s, r.s[:r.head]...), append(seq, r.seq[:r.head]...)
}

// nbrs is a bounded list of an item's neighbours and their weights, sorted
// by neighbour index: a lookup is a binary search, and a scan reads it in
// one sweep, in the same order whatever the history.
type nbrs []nbr

type nbr struct {
	j uint32
	w float32
}

// find returns the position of neighbour j in n, or where it would go.
func (n nbrs) find(j uint32) (int, bool) {
	lo, hi := 0, len(n)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if n[h].j < j {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo, lo < len(n) && n[lo].j == j
}

// get returns the weight of neighbour j, 0 if absent.
func (n nbrs) get(j uint32) float32 {
	if p, ok := n.find(j); ok {
		return n[p].w
	}
	return 0
}

// add adds w to the weight of neighbour j. Once the list holds 2·maxN
// entries it keeps only its maxN strongest, and returns the sum of the
// weights it dropped.
func (n *nbrs) add(j uint32, w float64, maxN int) (dropped float64) {
	l := *n
	p, ok := l.find(j)
	if ok {
		l[p].w += float32(w)
		return 0
	}
	if l == nil {
		l = make(nbrs, 0, 8)
	}
	l = slices.Insert(l, p, nbr{j: j, w: float32(w)})
	*n = l
	if len(l) >= 2*maxN {
		return n.prune(maxN)
	}
	return 0
}

// prune keeps the maxN strongest neighbours (ties: the lower index) and
// returns the sum of the weights it dropped.
func (n *nbrs) prune(maxN int) (dropped float64) {
	l := *n
	if len(l) <= maxN {
		return 0
	}
	selectTop(l, maxN, func(a, b nbr) int {
		if c := cmp.Compare(b.w, a.w); c != 0 {
			return c
		}
		return cmp.Compare(a.j, b.j)
	})
	for _, e := range l[maxN:] {
		dropped += float64(e.w)
	}
	l = l[:maxN]
	slices.SortFunc(l, func(a, b nbr) int { return cmp.Compare(a.j, b.j) })
	*n = l
	return dropped
}

// toMap returns the neighbours as a map, the snapshot's form.
func (n nbrs) toMap() map[uint32]float32 {
	if n == nil {
		return nil
	}
	m := make(map[uint32]float32, len(n))
	for _, e := range n {
		m[e.j] = e.w
	}
	return m
}

// nbrsOf returns the neighbours of a snapshot's map.
func nbrsOf(m map[uint32]float32) nbrs {
	if len(m) == 0 {
		return nil
	}
	n := make(nbrs, 0, len(m))
	for j, w := range m {
		n = append(n, nbr{j, w})
	}
	slices.SortFunc(n, func(a, b nbr) int { return cmp.Compare(a.j, b.j) })
	return n
}
