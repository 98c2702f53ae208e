package view

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ecrm/ecrm/internal/profile"
)

// TestLookupFollowsTheTopics writes profile and identity records as the
// tailers receive them and reads them back by identifier, with the caches
// warm: a re-pointed identifier, a changed profile and a tombstone are
// seen at once.
func TestLookupFollowsTheTopics(t *testing.T) {
	v := testView(t, testStore(t))
	f := newFeed(v)
	put := func(prefix, key string, value []byte) { t.Helper(); f.put(t, prefix, key, value) }
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
	put("p/", "pr_1", prof("pr_1", 1))
	put("i/", "a:x", []byte("pr_1"))
	lookup("a:x", "pr_1", 1)
	put("p/", "pr_1", prof("pr_1", 2))
	lookup("a:x", "pr_1", 2)
	// A merge: a:x now belongs to pr_2.
	put("p/", "pr_2", prof("pr_2", 7))
	put("i/", "a:x", []byte("pr_2"))
	lookup("a:x", "pr_2", 7)
	// An erasure: both gone.
	put("p/", "pr_2", nil)
	put("i/", "a:x", nil)
	if _, err := v.Lookup("a:x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after the tombstones: %v, want ErrNotFound", err)
	}
	if _, err := v.Lookup("x:nonsense"); !errors.Is(err, ErrBadIdentifier) {
		t.Errorf("Lookup(x:nonsense): %v, want ErrBadIdentifier", err)
	}
}

// TestFillRacingAnUpdate: a profile read from the store just before the
// tailer writes a newer one and invalidates it is answered to its reader
// but never cached, so the next read sees the newer one; a read no update
// raced is cached.
func TestFillRacingAnUpdate(t *testing.T) {
	v := testView(t, testStore(t))
	f := newFeed(v)
	prof := func(events int64) []byte {
		p := profile.New("pr_1", "a:x")
		p.Events = events
		data, _ := json.Marshal(p)
		return data
	}
	f.put(t, "p/", "pr_1", prof(1))
	f.put(t, "i/", "a:x", []byte("pr_1"))
	v.afterRead = func(string) {
		v.afterRead = nil
		f.put(t, "p/", "pr_1", prof(2)) // between the read and the fill
	}
	if p, err := v.Profile("pr_1"); err != nil || p.Events != 1 {
		t.Fatalf("Profile read before the update = %+v, %v; want 1 event", p, err)
	}
	v.cache.Wait()
	if _, ok := v.cache.Get("pr_1"); ok {
		t.Fatal("the profile read before the update was cached")
	}
	for range 2 {
		if p, err := v.Profile("pr_1"); err != nil || p.Events != 2 {
			t.Fatalf("Profile after the update = %+v, %v; want 2 events", p, err)
		}
		v.cache.Wait()
	}
	if p, ok := v.cache.Get("pr_1"); !ok || p.Events != 2 {
		t.Fatalf("cache after an unraced read = %+v, %t; want the profile with 2 events", p, ok)
	}
}
