package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// FirstOffset asks a reader to start at the oldest record of a partition.
const FirstOffset = kafkago.FirstOffset

// PartitionHandler processes the records of the partitions assigned to it.
// Calls for one partition never overlap; calls for different partitions may.
type PartitionHandler interface {
	// Open is called when a partition is assigned and returns the offset of
	// the next record to process, or FirstOffset.
	Open(ctx context.Context, partition int) (int64, error)
	// Handle processes records in offset order. When it fails, the partition
	// is closed and opened again after a back-off, so Handle sees the
	// records again from the offset Open then returns.
	Handle(ctx context.Context, partition int, msgs []Message) error
	// Close is called when the partition is revoked or its reader stops.
	Close(partition int)
}

// ReadOptions tunes partition readers. The zero value is valid.
type ReadOptions struct {
	// MaxBatch is the most records passed to one Handle call (default 1000).
	MaxBatch int
	// Linger is how long a batch waits for more records once it has one
	// (default 2ms).
	Linger time.Duration
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
}

func (o ReadOptions) withDefaults() ReadOptions {
	if o.MaxBatch == 0 {
		o.MaxBatch = 1000
	}
	if o.Linger == 0 {
		o.Linger = 2 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Group is a member of a Kafka consumer group that reads one topic and hands
// each assigned partition to a PartitionHandler. It keeps no offsets in
// Kafka: the handler stores them with its state and returns them from Open.
type Group struct {
	cfg      Config
	id       string
	topic    string
	h        PartitionHandler
	opts     ReadOptions
	assigned atomic.Int64
	joined   atomic.Bool
}

// NewGroup returns a group member; Run starts it.
func NewGroup(cfg Config, groupID, topic string, h PartitionHandler, opts ReadOptions) *Group {
	return &Group{cfg: cfg, id: groupID, topic: topic, h: h, opts: opts.withDefaults()}
}

// Joined reports whether the member holds a generation of the group.
func (g *Group) Joined() bool { return g.joined.Load() }

// Assigned returns the number of partitions this member reads now.
func (g *Group) Assigned() int { return int(g.assigned.Load()) }

// Run joins the group and processes assigned partitions until ctx is done.
// On return every handler call has finished and every partition is closed.
func (g *Group) Run(ctx context.Context) error {
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                g.id,
		Brokers:           g.cfg.Brokers,
		Topics:            []string{g.topic},
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  500 * time.Millisecond,
		StartOffset:       kafkago.FirstOffset,
		Timeout:           5 * time.Second,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			g.opts.Logger.Debug("consumer group", "detail", fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", g.id, err)
	}
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			g.joined.Store(false)
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafkago.ErrGroupClosed) {
				return nil
			}
			g.opts.Logger.Warn("consumer group: join failed", "group", g.id, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		g.joined.Store(true)
		parts := gen.Assignments[g.topic]
		g.opts.Logger.Info("consumer group: assigned", "group", g.id, "generation", gen.ID, "partitions", len(parts))
		for _, a := range parts {
			partition := a.ID
			gen.Start(func(gctx context.Context) {
				g.assigned.Add(1)
				defer g.assigned.Add(-1)
				runPartition(gctx, g.cfg, g.topic, partition, g.h, g.opts)
			})
		}
	}
}

// Tail reads every partition of topic with h until ctx is done, without a
// consumer group: every caller sees every record. It returns once every
// reader has stopped.
func Tail(ctx context.Context, cfg Config, topic string, h PartitionHandler, opts ReadOptions) error {
	opts = opts.withDefaults()
	n, err := Partitions(ctx, cfg, topic)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for p := range n {
		wg.Go(func() { runPartition(ctx, cfg, topic, p, h, opts) })
	}
	wg.Wait()
	return nil
}

// runPartition reads one partition until ctx is done, reopening it after a
// back-off whenever the handler or the reader fails.
func runPartition(ctx context.Context, cfg Config, topic string, partition int, h PartitionHandler, opts ReadOptions) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := readPartition(ctx, cfg, topic, partition, h, opts)
		h.Close(partition)
		if err == nil || ctx.Err() != nil {
			return
		}
		opts.Logger.Warn("partition reader failed; retrying", "topic", topic, "partition", partition, "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func readPartition(ctx context.Context, cfg Config, topic string, partition int, h PartitionHandler, opts ReadOptions) error {
	offset, err := h.Open(ctx, partition)
	if err != nil {
		return fmt.Errorf("open partition %d: %w", partition, err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:        cfg.Brokers,
		Topic:          topic,
		Partition:      partition,
		MinBytes:       1,
		MaxBytes:       16 << 20,
		MaxWait:        250 * time.Millisecond,
		QueueCapacity:  opts.MaxBatch,
		ReadBackoffMin: 20 * time.Millisecond,
		ReadBackoffMax: 500 * time.Millisecond,
		MaxAttempts:    3,
	})
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		return fmt.Errorf("seek partition %d to %d: %w", partition, offset, err)
	}
	batch := make([]Message, 0, opts.MaxBatch)
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch: %w", err)
		}
		batch = append(batch[:0], fromKafka(m))
		fillCtx, cancel := context.WithTimeout(ctx, opts.Linger)
		for len(batch) < opts.MaxBatch {
			m, err := r.FetchMessage(fillCtx)
			if err != nil {
				break
			}
			batch = append(batch, fromKafka(m))
		}
		cancel()
		if err := h.Handle(ctx, partition, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("handle offsets %d..%d: %w", batch[0].Offset, batch[len(batch)-1].Offset, err)
		}
	}
}
