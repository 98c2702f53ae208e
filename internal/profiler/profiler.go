// Package profiler turns the hits on the hits topic into profiles: it is a
// Kafka consumer group whose members each own some partitions, keep those
// partitions' profiles in a local store, and publish every change to the
// profiles and identities topics.
//
// Exactly-once effect: the state a batch of hits produced and the offset of
// the next hit are written in one atomic store commit, after the batch's
// output records were acknowledged by Kafka. A crash before the commit
// replays the batch on the old state and re-publishes the same snapshots
// (compacted topics keep the last); a crash after it resumes past it.
// A hit's messageId de-duplicates client retries.
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
	db     *store.DB
	out    Publisher
	log    *slog.Logger
	ignore map[string]bool
	group  *kafka.Group
	m      metrics

	mu     sync.Mutex
	active map[int]bool
}

type metrics struct {
	hits       *prometheus.CounterVec
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
	p := &Profiler{
		cfg:    cfg,
		topics: kcfg.Topics(),
		db:     db,
		out:    out,
		log:    logger.With("component", "profiler"),
		ignore: map[string]bool{},
		active: map[int]bool{},
	}
	for _, id := range cfg.IgnoreIDs {
		p.ignore[strings.ToLower(strings.TrimSpace(id))] = true
	}
	p.group = kafka.NewGroup(kcfg, cfg.GroupID, p.topics.Hits, p, kafka.ReadOptions{Logger: p.log, MaxBatch: 2000})
	p.m = metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecrm_profiler_records_total", Help: "Records the profiler processed, by kind (hit, merge, absorb, forward, bot, invalid).",
		}, []string{"kind"}),
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
		reg.MustRegister(p.m.hits, p.m.duplicates, p.m.batch, p.m.assigned)
	}
	return p
}

// Run consumes until ctx is done. On return every batch in flight has been
// committed or abandoned (to be replayed), never half applied.
func (p *Profiler) Run(ctx context.Context) error { return p.group.Run(ctx) }

// Ready reports whether the member has joined its group.
func (p *Profiler) Ready() bool { return p.group.Joined() }

// Open implements kafka.PartitionHandler: it returns the offset stored with
// the partition's state.
func (p *Profiler) Open(_ context.Context, partition int) (int64, error) {
	p.mu.Lock()
	p.active[partition] = true
	p.mu.Unlock()
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

// Close implements kafka.PartitionHandler.
func (p *Profiler) Close(partition int) {
	p.mu.Lock()
	delete(p.active, partition)
	p.mu.Unlock()
}

// Handle implements kafka.PartitionHandler: apply, publish, then commit.
func (p *Profiler) Handle(ctx context.Context, partition int, msgs []kafka.Message) error {
	start := time.Now()
	b := newBatch(p, partition)
	for i := range msgs {
		b.record(&msgs[i])
	}
	if b.err != nil {
		return b.err
	}
	if err := p.out.Publish(ctx, b.outputs()...); err != nil {
		return fmt.Errorf("publish batch outputs: %w", err)
	}
	if err := b.commit(msgs[len(msgs)-1].Offset + 1); err != nil {
		return err
	}
	p.m.batch.Observe(time.Since(start).Seconds())
	return nil
}

// Store keys, all under the partition that owns them:
//
//	s/<partition>/o          next offset to read
//	s/<partition>/p/<key>    profile owned by key
//	s/<partition>/l/<anon>   user key an anonymous identifier is linked to
func partPrefix(partition int) string { return fmt.Sprintf("s/%05d/", partition) }

func offsetKey(partition int) []byte { return []byte(partPrefix(partition) + "o") }

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
