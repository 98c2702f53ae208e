package collector

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/site"
)

// siteKeyPrefix starts the config topic's key of a site.
const siteKeyPrefix = "site:"

// SiteWatcher keeps a registry in step with the sites on the config topic,
// where the admin API writes them, so every collector replica knows every
// site. Sites from files or flags are put in the registry directly.
type SiteWatcher struct {
	kcfg  kafka.Config
	topic string
	reg   *site.Registry
	log   *slog.Logger

	mu      sync.Mutex
	end     map[int]int64 // high watermarks at start
	pending int           // partitions not yet caught up
	ready   atomic.Bool
}

// NewSiteWatcher returns a watcher filling reg from kcfg's config topic.
func NewSiteWatcher(kcfg kafka.Config, reg *site.Registry, logger *slog.Logger) *SiteWatcher {
	return &SiteWatcher{kcfg: kcfg, topic: kcfg.Topics().Config, reg: reg, log: logger.With("component", "sites")}
}

// Ready reports whether the watcher has read every site written before it
// started.
func (w *SiteWatcher) Ready() bool { return w.ready.Load() }

// Run reads the config topic from its start until ctx is done.
func (w *SiteWatcher) Run(ctx context.Context) error {
	end, err := kafka.EndOffsets(ctx, w.kcfg, w.topic)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.end = end
	for _, off := range end {
		if off > 0 {
			w.pending++
		}
	}
	w.ready.Store(w.pending == 0)
	w.mu.Unlock()
	return kafka.Tail(ctx, w.kcfg, w.topic, w, kafka.ReadOptions{Logger: w.log})
}

// Open implements kafka.PartitionHandler: the registry is rebuilt from the
// start of the topic at every start (it is small and compacted).
func (w *SiteWatcher) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }

// Close implements kafka.PartitionHandler.
func (w *SiteWatcher) Close(int) {}

// Handle implements kafka.PartitionHandler.
func (w *SiteWatcher) Handle(_ context.Context, partition int, msgs []kafka.Message) error {
	for _, m := range msgs {
		id, ok := strings.CutPrefix(string(m.Key), siteKeyPrefix)
		if !ok {
			continue
		}
		if m.Value == nil {
			w.reg.Delete(id)
			continue
		}
		var s site.Site
		if err := json.Unmarshal(m.Value, &s); err != nil {
			w.log.Warn("undecodable site skipped", "site", id, "err", err)
			continue
		}
		if err := w.reg.Put(s); err != nil {
			w.log.Warn("invalid site skipped", "site", id, "err", err)
		}
	}
	last := msgs[len(msgs)-1].Offset
	w.mu.Lock()
	if end, ok := w.end[partition]; ok && end > 0 && last+1 >= end {
		delete(w.end, partition)
		w.pending--
		if w.pending == 0 {
			w.ready.Store(true)
		}
	}
	w.mu.Unlock()
	return nil
}

// SiteAdmin writes sites to the config topic for every replica's watcher.
type SiteAdmin struct {
	mu    sync.Mutex // one change at a time: the key check holds until stored
	reg   *site.Registry
	pub   Publisher
	topic string
}

// NewSiteAdmin returns the admin side of sites; pub must wait for acks.
func NewSiteAdmin(reg *site.Registry, pub Publisher, topic string) *SiteAdmin {
	return &SiteAdmin{reg: reg, pub: pub, topic: topic}
}

// ErrSiteNotFound is returned by Delete for an unknown site.
var ErrSiteNotFound = errors.New("no such site")

// Put stores a site: it is valid, its write key is not another site's,
// and Kafka acknowledged it.
func (a *SiteAdmin) Put(ctx context.Context, s site.Site) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := s.Validate(); err != nil {
		return err
	}
	for _, other := range a.reg.List() {
		if other.WriteKey == s.WriteKey && other.ID != s.ID {
			return site.ErrKeyTaken
		}
	}
	value, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := a.pub.Publish(ctx, kafka.Message{Topic: a.topic, Key: []byte(siteKeyPrefix + s.ID), Value: value}); err != nil {
		return err
	}
	return a.reg.Put(s)
}

// Delete removes a site everywhere.
func (a *SiteAdmin) Delete(ctx context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.Get(id); !ok {
		return ErrSiteNotFound
	}
	if err := a.pub.Publish(ctx, kafka.Message{Topic: a.topic, Key: []byte(siteKeyPrefix + id), Value: nil}); err != nil {
		return err
	}
	a.reg.Delete(id)
	return nil
}

// Get returns the site with the given id.
func (a *SiteAdmin) Get(id string) (site.Site, bool) {
	for _, s := range a.reg.List() {
		if s.ID == id {
			return s, true
		}
	}
	return site.Site{}, false
}
