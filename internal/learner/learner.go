// Package learner feeds personalize's recommender and catalog from the hits
// topic: every replica tails every partition, turns product events into
// interactions for the recommend.Model and items for the catalog, and
// snapshots both to disk with the offsets they reflect, so a restart
// resumes from the snapshot instead of the start of the topic.
package learner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/recommend"
)

// Learner is safe for concurrent use.
type Learner struct {
	kcfg  kafka.Config
	model *recommend.Model
	cat   *catalog.Catalog
	dir   string
	log   *slog.Logger

	// mu is held shared while a batch is applied and exclusively while a
	// snapshot is taken, so the snapshot and its offsets agree.
	mu   sync.RWMutex
	next map[int]int64 // next offset per partition, as applied
	omu  sync.Mutex    // guards next under mu's shared hold

	rmu    sync.Mutex
	recent []event.Event // the latest hits, a ring of RecentCap
	rnext  int
}

// RecentCap is how many of the latest hits Recent keeps.
const RecentCap = 200

// New returns a learner feeding model and cat, snapshotting into dir.
func New(kcfg kafka.Config, model *recommend.Model, cat *catalog.Catalog, dir string, logger *slog.Logger) *Learner {
	return &Learner{kcfg: kcfg, model: model, cat: cat, dir: dir, log: logger.With("component", "learner"), next: map[int]int64{}}
}

// Load restores the last snapshot, if any.
func (l *Learner) Load() error {
	f, err := os.Open(filepath.Join(l.dir, "model.snap"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open model snapshot: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var offsets map[int]int64
	line, err := r.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &offsets)
	}
	if err == nil {
		_, err = l.model.ReadFrom(r)
	}
	if err == nil {
		_, err = l.cat.ReadFrom(r)
	}
	if err != nil {
		l.log.Warn("model snapshot unreadable; learning from the start of the hits topic", "err", err)
		return nil
	}
	l.next = offsets
	l.log.Info("model snapshot loaded", "items", l.cat.Len())
	return nil
}

// Snapshot writes the model, the catalog and their offsets to disk,
// atomically (temporary file, fsync, rename).
func (l *Learner) Snapshot() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(l.dir, 0o750); err != nil {
		return err
	}
	tmp := filepath.Join(l.dir, "model.snap.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	offsets, _ := json.Marshal(l.next)
	_, err = w.Write(append(offsets, '\n'))
	if err == nil {
		_, err = l.model.WriteTo(w)
	}
	if err == nil {
		_, err = l.cat.WriteTo(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write model snapshot: %w", err)
	}
	return os.Rename(tmp, filepath.Join(l.dir, "model.snap"))
}

// Run tails the hits topic until ctx is done, snapshotting every interval
// and once more on the way out.
func (l *Learner) Run(ctx context.Context, interval time.Duration) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := l.Snapshot(); err != nil {
					l.log.Warn("snapshot failed", "err", err)
				}
			}
		}
	}()
	err := kafka.Tail(ctx, l.kcfg, l.kcfg.Topics().Hits, l, kafka.ReadOptions{Logger: l.log, MaxBatch: 2000})
	<-done
	if serr := l.Snapshot(); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// Open implements kafka.PartitionHandler: it resumes where the snapshot,
// or this run, left the partition.
func (l *Learner) Open(_ context.Context, partition int) (int64, error) {
	l.omu.Lock()
	defer l.omu.Unlock()
	if off, ok := l.next[partition]; ok {
		return off, nil
	}
	return kafka.FirstOffset, nil
}

// Close implements kafka.PartitionHandler.
func (l *Learner) Close(int) {}

// Handle implements kafka.PartitionHandler.
func (l *Learner) Handle(_ context.Context, partition int, msgs []kafka.Message) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := range msgs {
		l.apply(&msgs[i])
	}
	l.omu.Lock()
	l.next[partition] = msgs[len(msgs)-1].Offset + 1
	l.omu.Unlock()
	return nil
}

// apply learns from one record: hits from the collector only (merge,
// forward and tick records repeat or concern nothing a recommender needs),
// and erasures, which it carries out in its own memory.
func (l *Learner) apply(m *kafka.Message) {
	for _, h := range m.Headers {
		if h.Key == profiler.HeaderKind {
			switch string(h.Value) {
			case profiler.KindErase, profiler.KindEraseLink:
				// The value names the identifier erased: the profile's
				// owner, then each of its other identifiers.
				l.Forget(string(m.Value))
			}
			return
		}
	}
	var e event.Event
	if event.Unmarshal(m.Value, &e) != nil {
		return
	}
	l.remember(e)
	if e.Bot || e.Type != event.TypeTrack {
		return
	}
	l.cat.Learn(&e)
	visitor := VisitorOf(&e)
	if visitor == "" {
		return
	}
	at := e.Timestamp
	if at.IsZero() {
		at = e.ReceivedAt
	}
	observe := func(props map[string]any, kind recommend.Kind) {
		it, ok := catalog.ItemOf(props)
		if !ok {
			return
		}
		_ = l.model.Observe(recommend.Interaction{Visitor: visitor, Item: it.ID, Kind: kind, Time: at, Category: strings.ToLower(it.Category)})
	}
	switch e.Event {
	case "Product Viewed", "Product Clicked":
		observe(e.Properties, recommend.View)
	case "Product Added":
		observe(e.Properties, recommend.Cart)
	case "Order Completed":
		if list, ok := e.Properties["products"].([]any); ok {
			for _, p := range list {
				if pm, ok := p.(map[string]any); ok {
					observe(pm, recommend.Order)
				}
			}
		}
	}
}

// VisitorOf returns the id a visitor's interactions are kept under: the
// user id when it identifies someone, else the anonymous id, else the
// collector's visitor cookie.
func VisitorOf(e *event.Event) string {
	switch {
	case e.UserID != "" && identity.Valid(e.UserID, nil):
		return identity.User(e.UserID)
	case e.AnonymousID != "" && identity.Valid(e.AnonymousID, nil):
		return identity.Anonymous(e.AnonymousID)
	case e.VisitorID != "":
		return identity.Anonymous(e.VisitorID)
	}
	return ""
}

func (l *Learner) remember(e event.Event) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if len(l.recent) < RecentCap {
		l.recent = append(l.recent, e)
		return
	}
	l.recent[l.rnext] = e
	l.rnext = (l.rnext + 1) % RecentCap
}

// Forget erases what this replica holds of one identifier (u:<userId> or
// a:<anonymousId>): its live session in the recommender (which becomes
// anonymous, as a closed session is) and its hits in the live feed. The
// next snapshot is written without them.
func (l *Learner) Forget(identifier string) {
	if identifier == "" {
		return
	}
	l.model.Forget(identifier)
	l.rmu.Lock()
	defer l.rmu.Unlock()
	kept := make([]event.Event, 0, len(l.recent))
	for i := range l.recent {
		// Oldest first, so that the ring's order survives.
		e := &l.recent[(l.rnext+i)%len(l.recent)]
		if VisitorOf(e) == identifier ||
			e.UserID != "" && identity.User(e.UserID) == identifier ||
			e.AnonymousID != "" && identity.Anonymous(e.AnonymousID) == identifier ||
			e.VisitorID != "" && identity.Anonymous(e.VisitorID) == identifier {
			continue
		}
		kept = append(kept, *e)
	}
	l.recent, l.rnext = kept, 0
}

// Recent returns the latest hits this replica read, newest first (after a
// restart, from where the snapshot resumed).
func (l *Learner) Recent() []event.Event {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	out := make([]event.Event, 0, len(l.recent))
	for i := range l.recent {
		j := (l.rnext - 1 - i + 2*len(l.recent)) % len(l.recent)
		out = append(out, l.recent[j])
	}
	return out
}
