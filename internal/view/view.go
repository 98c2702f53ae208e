// Package view is personalize's local copy of the profiles and identities
// topics: every replica tails both compacted topics into a local store, and
// keeps in memory every identifier, every profile's brief (what a page's
// recommendation needs of it) and the hot set of decoded profiles
// (github.com/dgraph-io/ristretto/v2), so pages are answered without I/O.
package view

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/store"
)

// ErrNotFound is returned by Lookup when no profile answers to an identifier.
var ErrNotFound = errors.New("view: profile not found")

// ErrBadIdentifier is returned by Lookup for an identifier without a known
// prefix (u:, a:, e:, p_) or with a value that never identifies anyone.
var ErrBadIdentifier = errors.New("identifier must be u:<userId>, a:<anonymousId>, e:<email> or a profile id")

// Options tunes a View. The zero value is valid.
type Options struct {
	// CacheBytes bounds the decoded hot set (default 256 MiB).
	CacheBytes int64
}

// View is a replica's read model. It is safe for concurrent use.
type View struct {
	kcfg   kafka.Config
	topics kafka.Topics
	db     *store.DB
	cache  *ristretto.Cache[string, *profile.Profile]
	// idx holds every identifier → profile id of the store, and briefs
	// every profile id → Brief: both in memory the collector does not
	// scan, filled at New and kept by the tailers.
	idx    *table
	briefs *table
	log    *slog.Logger

	// stripes order a cache fill with the invalidations of the same
	// profile, so a fill never puts back a value older than the store's
	// (see Profile).
	stripes [256]stripe
	seed    maphash.Seed
	// afterRead, when set (tests), runs in Profile between reading the
	// store and filling the cache.
	afterRead func(pid string)
	running   atomic.Int32

	hits, misses prometheus.Counter
}

// New returns a view over db. Run fills it.
func New(kcfg kafka.Config, db *store.DB, opts Options, logger *slog.Logger, reg prometheus.Registerer) (*View, error) {
	if opts.CacheBytes == 0 {
		opts.CacheBytes = 256 << 20
	}
	cache, err := ristretto.NewCache(&ristretto.Config[string, *profile.Profile]{
		NumCounters: max(opts.CacheBytes/250, 1000), // ~10x the items expected at ~2.5 KB each
		MaxCost:     opts.CacheBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("profile cache: %w", err)
	}
	v := &View{
		kcfg: kcfg, topics: kcfg.Topics(), db: db, cache: cache, idx: newTable(), briefs: newTable(), seed: maphash.MakeSeed(),
		log: logger.With("component", "view"),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_view_cache_hits_total", Help: "Profile reads answered from the in-memory hot set."}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_view_cache_misses_total", Help: "Profile reads that went to the local store."}),
	}
	if err := v.load(); err != nil {
		cache.Close()
		return nil, err
	}
	if reg != nil {
		reg.MustRegister(v.hits, v.misses,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecrm_view_identifiers", Help: "Identifiers the view holds in memory."},
				func() float64 { return float64(v.Memory().Identifiers) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecrm_view_briefs", Help: "Profile briefs the view holds in memory."},
				func() float64 { return float64(v.Memory().Briefs) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ecrm_view_memory_bytes", Help: "Bytes of the in-memory identifiers and briefs, dead space included."},
				func() float64 { return float64(v.Memory().Bytes) }))
	}
	return v, nil
}

// Run tails the profiles and identities topics until ctx is done.
func (v *View) Run(ctx context.Context) error {
	errs := make(chan error, 2)
	for _, t := range []struct {
		topic string
		h     kafka.PartitionHandler
	}{
		{v.topics.Profiles, &tailer{v: v, topic: v.topics.Profiles, prefix: "p/"}},
		{v.topics.Identities, &tailer{v: v, topic: v.topics.Identities, prefix: "i/"}},
	} {
		go func() {
			v.running.Add(1)
			defer v.running.Add(-1)
			errs <- kafka.Tail(ctx, v.kcfg, t.topic, t.h, kafka.ReadOptions{Logger: v.log})
		}()
	}
	return errors.Join(<-errs, <-errs)
}

// Ready reports whether both topics are being tailed.
func (v *View) Ready() bool { return v.running.Load() == 2 }

// Close releases the in-memory cache.
func (v *View) Close() {
	v.cache.Close()
}

// Lookup returns the profile an identifier (`u:<userId>`, `a:<anonymousId>`,
// `e:<email>` or a profile id) belongs to. The profile is shared: callers
// must not modify it.
func (v *View) Lookup(identifier string) (*profile.Profile, error) {
	id, ok := identity.Lookup(identifier)
	if !ok {
		return nil, ErrBadIdentifier
	}
	pid := id
	if !isProfileID(id) {
		var err error
		if pid, err = v.profileID(id); err != nil {
			return nil, err
		}
	}
	return v.Profile(pid)
}

// profileID returns the profile id an identifier (u:, a:, e:) points to.
func (v *View) profileID(id string) (string, error) {
	if pid, ok := v.idx.get(id); ok {
		return pid, nil
	}
	return "", ErrNotFound
}

// Brief returns the brief of the profile an identifier (`u:<userId>`,
// `a:<anonymousId>`, `e:<email>` or a profile id) belongs to, from memory.
func (v *View) Brief(identifier string) (Brief, error) {
	id, ok := identity.Lookup(identifier)
	if !ok {
		return Brief{}, ErrBadIdentifier
	}
	pid := id
	if !isProfileID(id) {
		var ok bool
		if pid, ok = v.idx.get(id); !ok {
			return Brief{}, ErrNotFound
		}
	}
	raw, ok := v.briefs.get(pid)
	if !ok {
		return Brief{}, ErrNotFound
	}
	return Brief{raw: raw}, nil
}

// Profile returns the profile with the given profile id, without the
// profiler's bookkeeping (see profile.UnmarshalView).
func (v *View) Profile(pid string) (*profile.Profile, error) {
	if p, ok := v.cache.Get(pid); ok {
		v.hits.Inc()
		return p, nil
	}
	v.misses.Inc()
	// The store is read without a lock, so that a slow read delays no
	// other: a fill is dropped instead when the profile was invalidated
	// since before the read (the stripe's count moved), as the value read
	// may then be the older one.
	st := v.stripe(pid)
	gen := st.gen.Load()
	raw, err := v.db.Get([]byte("p/" + pid))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p := new(profile.Profile)
	if err := profile.UnmarshalView(raw, p); err != nil {
		return nil, fmt.Errorf("decode profile %s: %w", pid, err)
	}
	if v.afterRead != nil {
		v.afterRead(pid)
	}
	st.mu.Lock()
	if st.gen.Load() == gen {
		v.cache.Set(pid, p, decodedCost(len(raw)))
	}
	st.mu.Unlock()
	return p, nil
}

// stripe serialises the cache fills and invalidations of its profiles,
// and counts the invalidations.
type stripe struct {
	mu  sync.Mutex
	gen atomic.Uint64 // written under mu
}

// stripe returns the stripe of key.
func (v *View) stripe(key string) *stripe {
	return &v.stripes[maphash.String(v.seed, key)%uint64(len(v.stripes))]
}

// decodedCost estimates the heap a profile decoded from a stored snapshot
// of n bytes takes, what the cache is charged for it: measured at about
// 1 KB for an empty profile (the struct alone is 888 bytes) and 1.4 to
// 1.6 times the snapshot's bytes on top for busy ones.
func decodedCost(n int) int64 { return 1024 + int64(n)*3/2 }

// invalidate drops key from one of the view's caches, under the key's
// stripe (see Profile).
func invalidate[V any](v *View, c *ristretto.Cache[string, V], key string) {
	st := v.stripe(key)
	st.mu.Lock()
	st.gen.Add(1)
	c.Del(key)
	st.mu.Unlock()
}

func isProfileID(s string) bool {
	return len(s) > len(identity.PrefixProfile) && s[:len(identity.PrefixProfile)] == identity.PrefixProfile
}

// tailer writes one topic's records into the store under prefix, with the
// next offset of each partition in the same commit.
type tailer struct {
	v      *View
	topic  string
	prefix string
}

func (t *tailer) offsetKey(partition int) []byte {
	return fmt.Appendf(nil, "o/%s/%05d", t.topic, partition)
}

func (t *tailer) Open(_ context.Context, partition int) (int64, error) {
	raw, err := t.v.db.Get(t.offsetKey(partition))
	if errors.Is(err, store.ErrNotFound) {
		return kafka.FirstOffset, nil
	}
	if err != nil {
		return 0, err
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("stored offset of %s/%d is %d bytes, want 8", t.topic, partition, len(raw))
	}
	return int64(binary.BigEndian.Uint64(raw)), nil
}

func (t *tailer) Handle(_ context.Context, partition int, msgs []kafka.Message) error {
	wb := t.v.db.NewBatch()
	var briefs []briefAt // of the profiles' messages, in order
	var buf, lean []byte
	for _, m := range msgs {
		k := append([]byte(t.prefix), m.Key...)
		switch {
		case m.Value == nil:
			wb.Delete(k)
		case t.prefix == "p/":
			lean = AppendStored(lean[:0], m.Value)
			wb.Set(k, lean) // the batch copies it
		default:
			wb.Set(k, m.Value)
		}
		if t.prefix != "p/" {
			continue
		}
		bk := append([]byte(briefPrefix), m.Key...)
		start := len(buf)
		var err error
		if m.Value != nil {
			if buf, err = briefOf(buf, m.Value); err != nil {
				t.v.log.Warn("profile snapshot without a brief: it does not decode", "profile", string(m.Key), "err", err)
			}
		}
		if m.Value == nil || err != nil {
			wb.Delete(bk)
			briefs = append(briefs, briefAt{del: true})
			continue
		}
		wb.Set(bk, buf[start:])
		briefs = append(briefs, briefAt{start: start, end: len(buf)})
	}
	var off [8]byte
	binary.BigEndian.PutUint64(off[:], uint64(msgs[len(msgs)-1].Offset+1))
	wb.Set(t.offsetKey(partition), off[:])
	if err := wb.CommitNoSync(); err != nil {
		return err
	}
	for i, m := range msgs {
		key := string(m.Key)
		switch t.prefix {
		case "p/":
			if b := briefs[i]; b.del {
				t.v.briefs.del(key)
			} else {
				t.v.briefs.set(key, alias(buf[b.start:b.end]))
			}
			invalidate(t.v, t.v.cache, key)
		case "i/":
			if m.Value == nil {
				t.v.idx.del(key)
			} else {
				t.v.idx.set(key, alias(m.Value))
			}
		}
	}
	return nil
}

// AppendStored appends what a view stores of a profile snapshot: the
// snapshot without the profiler's bookkeeping (profile.AppendLean), or
// whole when it cannot be read so. Profile decodes both alike.
func AppendStored(dst, snapshot []byte) []byte {
	if out, ok := profile.AppendLean(dst, snapshot); ok {
		return out
	}
	return append(dst, snapshot...)
}

// briefAt locates the brief of one message in Handle's buffer.
type briefAt struct {
	start, end int
	del        bool
}

func (t *tailer) Close(int) {}

// Scan calls fn with every profile of the local copy, decoded as Profile
// decodes them, until fn returns false. It reads the store, not the hot
// set: use it for reports, not for pages.
func (v *View) Scan(fn func(p *profile.Profile) bool) error {
	var decodeErr error
	err := v.db.Scan([]byte("p/"), func(_, raw []byte) bool {
		p := new(profile.Profile)
		if err := profile.UnmarshalView(raw, p); err != nil {
			decodeErr = err
			return true
		}
		return fn(p)
	})
	if err == nil && decodeErr != nil {
		v.log.Warn("undecodable profiles skipped by a scan", "err", decodeErr)
	}
	return err
}
