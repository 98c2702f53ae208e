// Package profiler turns the hits on the hits topic into profiles: it is a
// Kafka consumer group whose members each own some partitions, keep those
// partitions' profiles in a local store, and publish every change to the
// profiles and identities topics.
//
// Exactly-once effect: a batch of hits is applied in memory; then its output
// records are published and acknowledged; then the state it changed and the
// offset of the next hit go, as one record set, to the same-numbered
// partition of the changelog topic (State); then the same go to the local
// store in one atomic commit, with the changelog position. A crash before
// the changelog append replays the batch on the old state and re-publishes
// the same outputs (compacted topics keep the last; merge records are
// idempotent); a crash after it restores the state from the changelog.
// A hit's messageId de-duplicates client retries.
//
// State follows partitions: when a member is assigned a partition it first
// applies the changelog records written since its own last commit for that
// partition (none if it owned the partition all along), so a partition
// moved from another member, or a store lost with its disk, comes back
// whole from Kafka.
//
// Identity merges travel as records on the hits topic itself, keyed so that
// they reach the partition that owns the profile they concern:
//   - merge   (to the anonymous id's partition): link the anonymous id to a
//     user and hand its profile over;
//   - absorb  (to the user's partition): fold the handed-over profile in;
//   - forward (to the user's partition): a hit that carried only an
//     anonymous id that now belongs to a user.
package profiler

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/stats"
	"github.com/ecrm/ecrm/internal/store"
)

// Record kinds, in the header HeaderKind of records on the hits topic.
// A record without the header is a hit from the collector.
const (
	HeaderKind   = "ecrm-kind"
	HeaderTarget = "ecrm-target"

	KindMerge   = "merge"
	KindAbsorb  = "absorb"
	KindForward = "forward"
	// KindErase erases the profile owned by the record's target (see
	// EraseRecord); KindEraseLink, the link of one of its identifiers.
	KindErase     = "erase"
	KindEraseLink = "erase-link"
)

// Config tunes the profiler. The zero value is valid.
type Config struct {
	// GroupID is the Kafka consumer group (default "ecrm-profiler").
	GroupID string
	// IgnoreIDs are extra ids, besides null, undefined, 0, -1, anonymous and
	// the like, that never identify anyone.
	IgnoreIDs []string
	// KeepBots applies hits flagged as bots to profiles (default false:
	// bots are kept out of profiles).
	KeepBots bool
	// Segments are evaluated against every changed profile; nil: none.
	Segments *segment.Registry
	// CartAbandonAfter is how long a cart waits without a change or an
	// order before cart.abandoned fires (default 1h).
	CartAbandonAfter time.Duration
	// TickInterval is how often timers are checked and a slice of each
	// partition's profiles re-evaluated (default 10s).
	TickInterval time.Duration
}

// Publisher writes records to Kafka and returns once they are acknowledged.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

var _ Publisher = (*kafka.Producer)(nil)

// Profiler is one member of the profiler group.
type Profiler struct {
	cfg    Config
	topics kafka.Topics
	kcfg   kafka.Config
	db     *store.DB
	out    Publisher
	clog   *kafka.Appender
	log    *slog.Logger
	ignore map[string]bool
	group  *kafka.Group
	m      metrics

	mu     sync.Mutex
	active map[int]bool
	caches map[int]*partCache
	rfm    *rfmView
}

type metrics struct {
	hits       *prometheus.CounterVec
	triggers   *prometheus.CounterVec
	duplicates prometheus.Counter
	batch      prometheus.Histogram
	assigned   prometheus.GaugeFunc
}

// New returns a profiler that reads kcfg's hits topic as a member of the
// group, keeps state in db and publishes through out (a producer whose
// Publish waits for acks). Metrics are registered with reg when not nil.
func New(kcfg kafka.Config, cfg Config, db *store.DB, out Publisher, logger *slog.Logger, reg prometheus.Registerer) *Profiler {
	if cfg.GroupID == "" {
		cfg.GroupID = "ecrm-profiler"
	}
	if cfg.CartAbandonAfter == 0 {
		cfg.CartAbandonAfter = time.Hour
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = 10 * time.Second
	}
	p := &Profiler{
		kcfg:   kcfg,
		clog:   kafka.NewAppender(kcfg),
		cfg:    cfg,
		topics: kcfg.Topics(),
		db:     db,
		out:    out,
		log:    logger.With("component", "profiler"),
		ignore: map[string]bool{},
		active: map[int]bool{},
		caches: map[int]*partCache{},
		rfm:    &rfmView{partials: map[string]map[string]stats.RFM{}},
	}
	for _, id := range cfg.IgnoreIDs {
		p.ignore[strings.ToLower(strings.TrimSpace(id))] = true
	}
	p.group = kafka.NewGroup(kcfg, cfg.GroupID, p.topics.Hits, p, kafka.ReadOptions{Logger: p.log, MaxBatch: 2000, Linger: 10 * time.Millisecond})
	p.m = metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecrm_profiler_records_total", Help: "Records the profiler processed, by kind (hit, merge, absorb, forward, bot, invalid).",
		}, []string{"kind"}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecrm_profiler_triggers_total", Help: "Triggers published, by type.",
		}, []string{"type"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_profiler_duplicates_total", Help: "Hits skipped because their messageId was already applied.",
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ecrm_profiler_batch_seconds", Help: "Time to process, publish and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		assigned: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ecrm_profiler_partitions_assigned", Help: "Partitions of the hits topic this member owns.",
		}, func() float64 { return float64(p.group.Assigned()) }),
	}
	if reg != nil {
		reg.MustRegister(p.m.hits, p.m.triggers, p.m.duplicates, p.m.batch, p.m.assigned)
	}
	return p
}

// Run consumes until ctx is done. On return every batch in flight has been
// committed or abandoned (to be replayed), never half applied.
func (p *Profiler) Run(ctx context.Context) error {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.runTicker(tctx)
	go func() {
		if err := kafka.Tail(tctx, p.kcfg, p.topics.Stats, p.rfm, kafka.ReadOptions{Logger: p.log}); err != nil && tctx.Err() == nil {
			p.log.Warn("stats not followed: RFM scores are not relative to the population", "err", err)
		}
	}()
	return p.group.Run(ctx)
}

// Ready reports whether the member has joined its group.
func (p *Profiler) Ready() bool { return p.group.Joined() }

// Open implements kafka.PartitionHandler: it brings the partition's state
// up to date from the changelog and returns the offset stored with it.
func (p *Profiler) Open(ctx context.Context, partition int) (int64, error) {
	p.mu.Lock()
	p.active[partition] = true
	p.mu.Unlock()
	p.dropCache(partition)
	if err := p.restore(ctx, partition); err != nil {
		return 0, err
	}
	v, err := p.db.Get(offsetKey(partition))
	if errors.Is(err, store.ErrNotFound) {
		return kafka.FirstOffset, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stored offset of partition %d is %d bytes, want 8", partition, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// Close implements kafka.PartitionHandler. The partition's cache goes:
// it may hold the changes of a batch that failed.
func (p *Profiler) Close(partition int) {
	p.mu.Lock()
	delete(p.active, partition)
	delete(p.caches, partition)
	p.mu.Unlock()
}

// restore applies the changelog records of partition written after the
// local store's last commit for it.
func (p *Profiler) restore(ctx context.Context, partition int) error {
	pos, err := p.readInt(clogKey(partition))
	if err != nil {
		return err
	}
	ends, err := kafka.EndOffsets(ctx, p.kcfg, p.topics.State)
	if err != nil {
		return err
	}
	end := ends[partition]
	if pos >= end {
		return nil
	}
	start, n := time.Now(), 0
	err = kafka.ReadRange(ctx, p.kcfg, p.topics.State, partition, pos, end, 30*time.Second, func(msgs []kafka.Message) error {
		wb := p.db.NewBatch()
		for _, m := range msgs {
			k := append([]byte(partPrefix(partition)), m.Key...)
			if m.Value == nil {
				wb.Delete(k)
			} else {
				wb.Set(k, m.Value)
			}
		}
		wb.Set(clogKey(partition), be64(msgs[len(msgs)-1].Offset+1))
		n += len(msgs)
		return wb.Commit()
	})
	if err != nil {
		return fmt.Errorf("restore partition %d from the changelog: %w", partition, err)
	}
	p.log.Info("partition state restored from the changelog", "partition", partition, "records", n, "from", pos, "to", end, "took", time.Since(start))
	return nil
}

// readInt returns the big-endian int64 at key, or 0 when absent.
func (p *Profiler) readInt(key []byte) (int64, error) {
	v, err := p.db.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stored %s is %d bytes, want 8", key, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func be64(v int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return b[:]
}

// Handle implements kafka.PartitionHandler: apply in memory, publish the
// outputs, append the state to the changelog, then commit locally.
func (p *Profiler) Handle(ctx context.Context, partition int, msgs []kafka.Message) error {
	start := time.Now()
	b := newBatch(p, partition)
	b.first = msgs[0].Offset
	for i := range msgs {
		b.record(&msgs[i])
	}
	if b.err != nil {
		return b.err
	}
	b.finish(time.Now())
	next := msgs[len(msgs)-1].Offset + 1
	changes := b.changelog(next)
	if size := changeBytes(changes); size > kafka.MaxAppendBytes/2 && len(msgs) > 1 {
		// Too much state for one atomic append: do it in halves. This try
		// changed cached profiles in place: forget them.
		p.dropCache(partition)
		half := len(msgs) / 2
		if err := p.Handle(ctx, partition, msgs[:half]); err != nil {
			return err
		}
		return p.Handle(ctx, partition, msgs[half:])
	}
	if err := p.out.Publish(ctx, b.outputs()...); err != nil {
		return fmt.Errorf("publish batch outputs: %w", err)
	}
	base, err := p.clog.Append(ctx, p.topics.State, partition, changes)
	if err != nil {
		return err
	}
	if err := b.commit(next, base+int64(len(changes))); err != nil {
		return err
	}
	b.keep()
	p.m.batch.Observe(time.Since(start).Seconds())
	return nil
}

func changeBytes(msgs []kafka.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Key) + len(m.Value)
	}
	return n
}

// Store keys, all under the partition that owns them:
//
//	s/<partition>/o          next offset to read
//	s/<partition>/c          next changelog offset applied (local only)
//	s/<partition>/p/<key>    profile owned by key
//	s/<partition>/l/<anon>   user key an anonymous identifier is linked to
func partPrefix(partition int) string { return fmt.Sprintf("s/%05d/", partition) }

func offsetKey(partition int) []byte { return []byte(partPrefix(partition) + "o") }

// clogKey holds the next changelog offset the local store has applied; it
// is local bookkeeping, never itself in the changelog.
func clogKey(partition int) []byte { return []byte(partPrefix(partition) + "c") }

func profileKey(partition int, key string) []byte {
	return []byte(partPrefix(partition) + "p/" + key)
}

func linkKey(partition int, anon string) []byte {
	return []byte(partPrefix(partition) + "l/" + anon)
}

// rawKey returns the Kafka record key that routes to the partition owning
// identifier id: the id without its prefix, as the collector keys hits.
func rawKey(id string) []byte {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		return []byte(id[i+1:])
	}
	return []byte(id)
}
