// Package configtopic keeps a process in step with the definitions on the
// compacted config topic (sites, segments, campaigns), where the admin API
// writes them: each record's key is "<kind>:<id>", its value the JSON
// definition, a tombstone its removal. Every replica reads the whole topic
// at start and follows it, so all know every definition.
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

// Watcher reads the config topic and hands each record to the handler of
// its kind. It is safe for concurrent use.
type Watcher struct {
	kcfg     kafka.Config
	topic    string
	log      *slog.Logger
	handlers map[string]Handler

	mu      sync.Mutex
	end     map[int]int64 // high watermarks at start, per partition not yet caught up
	ready   atomic.Bool
	running atomic.Bool
}

// New returns a watcher of kcfg's config topic with a handler per kind
// ("site", "segment", ...).
func New(kcfg kafka.Config, handlers map[string]Handler, logger *slog.Logger) *Watcher {
	return &Watcher{kcfg: kcfg, topic: kcfg.Topics().Config, handlers: handlers, log: logger.With("component", "config")}
}

// Ready reports whether every definition written before Run started has
// been applied.
func (w *Watcher) Ready() bool { return w.ready.Load() }

// Run reads the topic from its start until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	end, err := kafka.EndOffsets(ctx, w.kcfg, w.topic)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.end = map[int]int64{}
	for p, off := range end {
		if off > 0 {
			w.end[p] = off
		}
	}
	w.ready.Store(len(w.end) == 0)
	w.mu.Unlock()
	return kafka.Tail(ctx, w.kcfg, w.topic, w, kafka.ReadOptions{Logger: w.log})
}

// Key returns the config topic key of a definition.
func Key(kind, id string) []byte { return []byte(kind + ":" + id) }

// Open implements kafka.PartitionHandler: definitions are rebuilt from the
// start of the topic at every start (it is small and compacted).
func (w *Watcher) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }

// Close implements kafka.PartitionHandler.
func (w *Watcher) Close(int) {}

// Handle implements kafka.PartitionHandler.
func (w *Watcher) Handle(_ context.Context, partition int, msgs []kafka.Message) error {
	for _, m := range msgs {
		kind, id, ok := strings.Cut(string(m.Key), ":")
		h := w.handlers[kind]
		if !ok || h == nil {
			continue
		}
		if err := h(id, m.Value); err != nil {
			w.log.Warn("definition skipped", "kind", kind, "id", id, "err", err)
		}
	}
	last := msgs[len(msgs)-1].Offset
	w.mu.Lock()
	if end, ok := w.end[partition]; ok && last+1 >= end {
		delete(w.end, partition)
		if len(w.end) == 0 {
			w.ready.Store(true)
		}
	}
	w.mu.Unlock()
	return nil
}
