package recommend

import (
	"cmp"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// ErrBadSnapshot is returned (wrapped) by ReadFrom when its input is not a
// snapshot this version can read.
var ErrBadSnapshot = errors.New("recommend: bad snapshot")

const (
	snapshotMagic   = "ecrm.recommend"
	snapshotVersion = 2 // 2 added the rings' stamps; ReadFrom reads 1 too
)

// snapshot is the gob form of a state. Sessions are renumbered densely;
// the popular and trending lists are rebuilt on load.
type snapshot struct {
	Magic    string
	Version  int
	Now      int64
	T0       int64
	T0Set    bool
	Observed uint64
	NSess    int64
	Pushes   uint64 // version 2
	LastLive int64
	Items    []snapItem
	Sessions []snapSession
}

type snapItem struct {
	Name, Category string
	Ring           []uint32 // oldest first
	RingSeq        []uint64 // the entries' stamps, parallel to Ring (version 2)
	DF, Orders     int32
	Weight         float64
	Pop, Short     float64
	Co, Bought     map[uint32]float32
	Next           map[uint32]float32
	NextTot        float64
}

type snapSession struct {
	Key, ID      string
	Items        []uint32
	Kinds        []byte
	Last, Serial int64
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countByteReader is a countReader over an io.ByteReader, which it stays,
// so that gob reads no further than the snapshot.
type countByteReader struct {
	countReader
	br io.ByteReader
}

func (c *countByteReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// WriteTo writes a snapshot of the model to w (encoding/gob) and returns
// the number of bytes written. It holds the read lock while it encodes:
// Recommend goes on, Observe waits.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	m.mu.RLock()
	defer m.mu.RUnlock()
	st := m.st
	if st == nil {
		st = newState(m.cfg.WithDefaults())
	}
	snap := snapshot{
		Magic: snapshotMagic, Version: snapshotVersion,
		Now: st.now, T0: st.dec.t0, T0Set: st.dec.set,
		Observed: st.observed, NSess: st.nSess, Pushes: st.pushes, LastLive: st.lastLive,
	}
	renum := make([]uint32, len(st.sessions))
	for s := range st.sessions {
		ss := &st.sessions[s]
		if !ss.used {
			continue
		}
		renum[s] = uint32(len(snap.Sessions))
		kinds := make([]byte, len(ss.kinds))
		for i, k := range ss.kinds {
			kinds[i] = byte(k)
		}
		snap.Sessions = append(snap.Sessions, snapSession{
			Key: ss.key, ID: ss.id, Items: ss.items, Kinds: kinds, Last: st.hot[s].last, Serial: st.hot[s].serial,
		})
	}
	snap.Items = make([]snapItem, len(st.items))
	for i := range st.items {
		x := &st.items[i]
		r, seq := x.ring.ordered()
		for j, s := range r {
			r[j] = renum[s]
		}
		snap.Items[i] = snapItem{
			Name: x.name, Category: x.category, Ring: r, RingSeq: seq, DF: x.df, Orders: x.orders,
			Weight: x.weight, Pop: x.pop, Short: x.short, Co: x.co.toMap(), Bought: x.bought.toMap(), Next: x.next.toMap(), NextTot: x.nextTot,
		}
	}
	if err := gob.NewEncoder(cw).Encode(&snap); err != nil {
		return cw.n, fmt.Errorf("write recommend snapshot: %w", err)
	}
	return cw.n, nil
}

// ReadFrom replaces the model's state with a snapshot read from r, written
// by WriteTo, and returns the number of bytes read. When r is an
// io.ByteReader (a *bufio.Reader, a *bytes.Reader), ReadFrom reads no
// further than the snapshot, so that more data may follow it; other readers
// may be read past its end. The model keeps its own Config: rings and
// sessions longer than its limits are cut to their most recent entries. On
// error the model is unchanged.
func (m *Model) ReadFrom(r io.Reader) (int64, error) {
	cr := &countReader{r: r}
	var src io.Reader = cr
	if br, ok := r.(io.ByteReader); ok {
		cbr := &countByteReader{countReader: countReader{r: r}, br: br}
		cr, src = &cbr.countReader, cbr
	}
	var snap snapshot
	if err := gob.NewDecoder(src).Decode(&snap); err != nil {
		return cr.n, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	if snap.Magic != snapshotMagic || snap.Version < 1 || snap.Version > snapshotVersion {
		return cr.n, fmt.Errorf("%w: magic %q version %d, want %q version %d",
			ErrBadSnapshot, snap.Magic, snap.Version, snapshotMagic, snapshotVersion)
	}
	st, err := fromSnapshot(&snap, m.cfg.WithDefaults())
	if err != nil {
		return cr.n, err
	}
	m.mu.Lock()
	m.st = st
	m.mu.Unlock()
	return cr.n, nil
}

func fromSnapshot(snap *snapshot, cfg Config) (*state, error) {
	st := newState(cfg)
	st.now, st.observed, st.nSess, st.lastLive = snap.Now, snap.Observed, snap.NSess, snap.LastLive
	st.pushes = snap.Pushes
	st.dec = decay{t0: snap.T0, set: snap.T0Set}
	nItems, nSess := uint32(len(snap.Items)), uint32(len(snap.Sessions))
	st.sessions = make([]session, nSess)
	st.hot = make([]sessHot, nSess)
	for s, ss := range snap.Sessions {
		if len(ss.Items) != len(ss.Kinds) {
			return nil, fmt.Errorf("%w: session %d has %d items and %d kinds", ErrBadSnapshot, s, len(ss.Items), len(ss.Kinds))
		}
		items, kinds := ss.Items, ss.Kinds
		if len(items) > cfg.MaxSessionLen {
			items, kinds = items[len(items)-cfg.MaxSessionLen:], kinds[len(kinds)-cfg.MaxSessionLen:]
		}
		st.hot[s] = sessHot{last: ss.Last, serial: ss.Serial}
		out := session{key: ss.Key, id: ss.ID, used: true,
			items: make([]uint32, len(items)), kinds: make([]Kind, len(kinds))}
		for j, i := range items {
			k := Kind(kinds[j])
			if i >= nItems || k < View || k > Order {
				return nil, fmt.Errorf("%w: session %d holds item %d of kind %d", ErrBadSnapshot, s, i, k)
			}
			out.items[j], out.kinds[j] = i, k
		}
		if out.key != "" {
			if _, dup := st.live[out.key]; dup {
				return nil, fmt.Errorf("%w: two live sessions for one visitor", ErrBadSnapshot)
			}
			st.live[out.key] = uint32(s)
		}
		st.sessions[s] = out
		st.syncHot(uint32(s))
	}
	st.items = make([]item, nItems)
	st.logDF = make([]float64, nItems)
	st.sims.grow(int(nItems))
	st.catOf = make([]uint32, nItems)
	for i, x := range snap.Items {
		if _, dup := st.ids[x.Name]; dup || x.Name == "" {
			return nil, fmt.Errorf("%w: item %d has a duplicate or empty id", ErrBadSnapshot, i)
		}
		st.ids[x.Name] = uint32(i)
		r, seq := x.Ring, x.RingSeq
		if snap.Version == 1 {
			seq = nil
		} else if len(seq) != len(r) {
			return nil, fmt.Errorf("%w: item %d has %d ring entries and %d stamps", ErrBadSnapshot, i, len(r), len(seq))
		}
		if len(r) > cfg.SessionsPerItem {
			r = r[len(r)-cfg.SessionsPerItem:]
			if seq != nil {
				seq = seq[len(seq)-cfg.SessionsPerItem:]
			}
		}
		for _, s := range r {
			if s >= nSess {
				return nil, fmt.Errorf("%w: item %d remembers session %d of %d", ErrBadSnapshot, i, s, nSess)
			}
			st.sessions[s].refs++
		}
		for _, n := range []map[uint32]float32{x.Co, x.Bought, x.Next} {
			for j := range n {
				if j >= nItems {
					return nil, fmt.Errorf("%w: item %d has neighbour %d of %d", ErrBadSnapshot, i, j, nItems)
				}
			}
		}
		st.items[i] = item{
			name: x.Name, ring: ring{s: append([]uint32(nil), r...), seq: append([]uint64(nil), seq...)},
			df: x.DF, orders: x.Orders, weight: x.Weight, pop: x.Pop, short: x.Short,
			co: nbrsOf(x.Co), bought: nbrsOf(x.Bought), next: nbrsOf(x.Next), nextTot: x.NextTot,
		}
		st.logDF[i] = math.Log(float64(max(x.DF, 1)))
		st.setCategory(uint32(i), x.Category)
	}
	if snap.Version == 1 {
		st.stampV1()
	}
	for s := range st.sessions {
		if ss := &st.sessions[s]; ss.refs == 0 && ss.key == "" {
			st.release(uint32(s))
		}
	}
	st.refresh()
	return st, nil
}

// stampV1 stamps the rings of a version 1 snapshot, which has no stamps:
// by their sessions' latest event, then creation, so that the most recent
// ring entries are those of the most recent sessions.
func (st *state) stampV1() {
	type entry struct {
		i uint32
		p int
	}
	var all []entry
	for i := range st.items {
		r := &st.items[i].ring
		r.seq = make([]uint64, len(r.s))
		for p := range r.s {
			all = append(all, entry{uint32(i), p})
		}
	}
	slices.SortFunc(all, func(a, b entry) int {
		sa, sb := &st.hot[st.items[a.i].ring.s[a.p]], &st.hot[st.items[b.i].ring.s[b.p]]
		return cmp.Or(cmp.Compare(sa.last, sb.last), cmp.Compare(sa.serial, sb.serial),
			cmp.Compare(a.i, b.i), cmp.Compare(a.p, b.p))
	})
	for k, e := range all {
		st.items[e.i].ring.seq[e.p] = uint64(k + 1)
	}
	st.pushes = uint64(len(all))
}
