// Package statsview keeps the latest partial aggregates of the stats topic
// in memory — each "<id>@<partition>" the profiler partitions publish — and
// sums them by id for the reports and the console.
package statsview

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"

	"github.com/ecrm/ecrm/internal/kafka"
)

// View is safe for concurrent use.
type View struct {
	kcfg kafka.Config
	log  *slog.Logger

	mu       sync.RWMutex
	partials map[string]map[string][]byte // id → partition → JSON
}

// New returns a view of kcfg's stats topic; Run fills it.
func New(kcfg kafka.Config, logger *slog.Logger) *View {
	return &View{kcfg: kcfg, log: logger.With("component", "stats"), partials: map[string]map[string][]byte{}}
}

// Run tails the stats topic until ctx is done.
func (v *View) Run(ctx context.Context) error {
	return kafka.Tail(ctx, v.kcfg, v.kcfg.Topics().Stats, v, kafka.ReadOptions{Logger: v.log})
}

// Open implements kafka.PartitionHandler: the topic is compacted and read
// from its start at every start.
func (v *View) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }

// Close implements kafka.PartitionHandler.
func (v *View) Close(int) {}

// Handle implements kafka.PartitionHandler.
func (v *View) Handle(_ context.Context, _ int, msgs []kafka.Message) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range msgs {
		id, part, ok := strings.Cut(string(m.Key), "@")
		if !ok {
			continue
		}
		if m.Value == nil {
			delete(v.partials[id], part)
			continue
		}
		if v.partials[id] == nil {
			v.partials[id] = map[string][]byte{}
		}
		v.partials[id][part] = m.Value
	}
	return nil
}

// IDs returns the aggregate ids starting with prefix.
func (v *View) IDs(prefix string) []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []string
	for id := range v.partials {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}

// Sum decodes every partition's partial of id with newT and folds them
// with add; it reports false when no partition published id.
func Sum[T any](v *View, id string, add func(into *T, part T)) (T, bool) {
	v.mu.RLock()
	parts := v.partials[id]
	raws := make([][]byte, 0, len(parts))
	for _, raw := range parts {
		raws = append(raws, raw)
	}
	v.mu.RUnlock()
	var sum T
	for _, raw := range raws {
		var p T
		if err := json.Unmarshal(raw, &p); err != nil {
			continue
		}
		add(&sum, p)
	}
	return sum, len(raws) > 0
}
