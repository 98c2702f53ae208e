// Package configtopic keeps a process in step with a compacted topic of
// definitions that every replica must know in full: the config topic (sites,
// segments, campaigns), where the admin API writes them, and the catalog
// topic of imported items. A record's value is the JSON definition, a
// tombstone its removal; its key names the definition (on the config topic
// "<kind>:<id>"). Every replica reads the whole topic at start and follows
// it, so all know every definition.
package configtopic

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ecrm/ecrm/internal/kafka"
)

// Handler applies one definition of a kind; value nil removes it. An error
// is logged and the record skipped.
type Handler func(id string, value []byte) error

// KeyScheme splits a record key into the kind of its handler and the id
// passed to it; ok false skips the record.
type KeyScheme func(key []byte) (kind, id string, ok bool)

// KindKeys is the config topic's scheme: "<kind>:<id>".
func KindKeys(key []byte) (kind, id string, ok bool) {
	return strings.Cut(string(key), ":")
}

// WholeKeys returns the scheme of a topic holding one kind only, whose keys
// are the ids themselves.
func WholeKeys(kind string) KeyScheme {
	return func(key []byte) (string, string, bool) {
		return kind, string(key), len(key) > 0
	}
}

// Watcher reads a topic and hands each record to the handler of its kind.
// It is safe for concurrent use.
type Watcher struct {
	kcfg     kafka.Config
	offsets  *kafka.Offsets // for CaughtUp, which may be called often
	topic    string
	keys     KeyScheme
	log      *slog.Logger
	handlers map[string]Handler

	mu      sync.Mutex
	end     map[int]int64 // high watermarks at start, per partition not yet caught up
	applied map[int]int64 // per partition, the offset after the last record handled
	moved   chan struct{} // closed, and replaced, whenever applied moves
	ready   atomic.Bool
}

// New returns a watcher of kcfg's config topic with a handler per kind
// ("site", "segment", ...).
func New(kcfg kafka.Config, handlers map[string]Handler, logger *slog.Logger) *Watcher {
	return newWatcher(kcfg, kcfg.Topics().Config, KindKeys, handlers, logger.With("component", "config"))
}

// NewTopic returns a watcher of topic whose keys follow the given scheme,
// with a handler per kind.
func NewTopic(kcfg kafka.Config, topic string, keys KeyScheme, handlers map[string]Handler, logger *slog.Logger) *Watcher {
	return newWatcher(kcfg, topic, keys, handlers, logger.With("component", "topic watcher", "topic", topic))
}

func newWatcher(kcfg kafka.Config, topic string, keys KeyScheme, handlers map[string]Handler, logger *slog.Logger) *Watcher {
	return &Watcher{kcfg: kcfg, offsets: kafka.NewOffsets(kcfg), topic: topic, keys: keys, handlers: handlers, log: logger,
		applied: map[int]int64{}, moved: make(chan struct{})}
}

// Ready reports whether every definition written before Run started has
// been applied.
func (w *Watcher) Ready() bool { return w.ready.Load() }

// Run reads the topic from its start until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.offsets.Close()
	end, err := kafka.EndOffsets(ctx, w.kcfg, w.topic)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.end = map[int]int64{}
	for p, off := range end {
		if off > w.applied[p] {
			w.end[p] = off
		}
	}
	w.ready.Store(len(w.end) == 0)
	w.mu.Unlock()
	return kafka.Tail(ctx, w.kcfg, w.topic, w, kafka.ReadOptions{Logger: w.log})
}

// CaughtUp returns once every record on the topic when it was called has
// been applied, or ctx's error: a writer that waits for its records' acks
// and then for CaughtUp reads its own writes from this replica.
func (w *Watcher) CaughtUp(ctx context.Context) error {
	end, err := w.offsets.End(ctx, w.topic)
	if err != nil {
		return err
	}
	return w.waitFor(ctx, end)
}

// waitFor returns once every partition has been applied up to end, or
// ctx's error.
func (w *Watcher) waitFor(ctx context.Context, end map[int]int64) error {
	for {
		w.mu.Lock()
		behind := false
		for p, off := range end {
			if w.applied[p] < off {
				behind = true
				break
			}
		}
		moved := w.moved
		w.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
	}
}

// Key returns the config topic key of a definition.
func Key(kind, id string) []byte { return []byte(kind + ":" + id) }

// Open implements kafka.PartitionHandler: definitions are rebuilt from the
// start of the topic at every start (it is compacted).
func (w *Watcher) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }

// Close implements kafka.PartitionHandler.
func (w *Watcher) Close(int) {}

// Handle implements kafka.PartitionHandler.
func (w *Watcher) Handle(_ context.Context, partition int, msgs []kafka.Message) error {
	for _, m := range msgs {
		kind, id, ok := w.keys(m.Key)
		h := w.handlers[kind]
		if !ok || h == nil {
			continue
		}
		if err := h(id, m.Value); err != nil {
			w.log.Warn("record skipped", "kind", kind, "id", id, "err", err)
		}
	}
	next := msgs[len(msgs)-1].Offset + 1
	w.mu.Lock()
	defer w.mu.Unlock()
	if next > w.applied[partition] {
		// A partition read again from its start (after a reader failure)
		// does not move back: what it replays was applied before.
		w.applied[partition] = next
		close(w.moved)
		w.moved = make(chan struct{})
	}
	if end, ok := w.end[partition]; ok && next >= end {
		delete(w.end, partition)
		if len(w.end) == 0 {
			w.ready.Store(true)
		}
	}
	return nil
}
