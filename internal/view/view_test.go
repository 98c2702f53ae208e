package view

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/store"
)

// TestLookupFollowsTheTopics writes profile and identity records as the
// tailers receive them and reads them back by identifier, with the caches
// warm: a re-pointed identifier, a changed profile and a tombstone are
// seen at once.
func TestLookupFollowsTheTopics(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	v, err := New(kafka.Config{}, db, Options{CacheBytes: 1 << 20}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	profiles := &tailer{v: v, topic: "profiles", prefix: "p/"}
	ids := &tailer{v: v, topic: "identities", prefix: "i/"}
	off := int64(0)
	put := func(tl *tailer, key string, value []byte) {
		t.Helper()
		off++
		if err := tl.Handle(context.Background(), 0, []kafka.Message{{Key: []byte(key), Value: value, Offset: off}}); err != nil {
			t.Fatal(err)
		}
	}
	prof := func(id string, events int64) []byte {
		p := profile.New(id, "a:x")
		p.Events = events
		data, _ := json.Marshal(p)
		return data
	}
	// lookup reads twice, the second time from the warm caches.
	lookup := func(identifier, wantID string, wantEvents int64) {
		t.Helper()
		for range 2 {
			p, err := v.Lookup(identifier)
			if err != nil || p.ID != wantID || p.Events != wantEvents {
				t.Fatalf("Lookup(%s) = %+v, %v; want profile %s with %d events", identifier, p, err, wantID, wantEvents)
			}
			v.cache.Wait()
		}
	}
	put(profiles, "pr_1", prof("pr_1", 1))
	put(ids, "a:x", []byte("pr_1"))
	lookup("a:x", "pr_1", 1)
	put(profiles, "pr_1", prof("pr_1", 2))
	lookup("a:x", "pr_1", 2)
	// A merge: a:x now belongs to pr_2.
	put(profiles, "pr_2", prof("pr_2", 7))
	put(ids, "a:x", []byte("pr_2"))
	lookup("a:x", "pr_2", 7)
	// An erasure: both gone.
	put(profiles, "pr_2", nil)
	put(ids, "a:x", nil)
	if _, err := v.Lookup("a:x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after the tombstones: %v, want ErrNotFound", err)
	}
	if _, err := v.Lookup("x:nonsense"); !errors.Is(err, ErrBadIdentifier) {
		t.Errorf("Lookup(x:nonsense): %v, want ErrBadIdentifier", err)
	}
}
