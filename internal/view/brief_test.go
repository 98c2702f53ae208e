package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/store"
)

// TestTableAgainstAMap applies random sets and deletes to a table and to a
// map and compares them, with a hash that collides often, so the overflow
// path and compaction (many overwrites) are taken. Values handed out
// before later writes must not change.
func TestTableAgainstAMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		hash func(string) uint64
	}{
		{"maphash", nil},
		{"colliding", func(s string) uint64 { return uint64(len(s)%3) * tableShards }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTable()
			if tc.hash != nil {
				tb.hash = tc.hash
			}
			want := map[string]string{}
			type held struct{ key, v, copy string }
			var kept []held
			r := rand.New(rand.NewPCG(1, 2))
			for step := range 60000 {
				key := fmt.Sprintf("k%d", r.IntN(300))
				switch r.IntN(4) {
				case 0:
					tb.del(key)
					delete(want, key)
				default:
					// Built in a buffer reused for the next key: the table copies.
					buf := []byte(strings.Repeat(fmt.Sprint(step), 1+r.IntN(20)))
					tb.set(alias(buf), string(buf))
					want[key] = string(buf)
					tb.set(key, string(buf))
					tb.del(string(buf))
					clear(buf)
				}
				if step%97 == 0 {
					if v, ok := tb.get(key); ok {
						kept = append(kept, held{key, v, strings.Clone(v)})
					}
				}
			}
			if tb.len() != len(want) {
				t.Errorf("len() = %d, want %d", tb.len(), len(want))
			}
			for i := range 300 {
				key := fmt.Sprintf("k%d", i)
				got, ok := tb.get(key)
				w, wok := want[key]
				if ok != wok || got != w {
					t.Fatalf("get(%s) = %q, %v; want %q, %v", key, got, ok, w, wok)
				}
			}
			for _, h := range kept {
				if h.v != h.copy {
					t.Fatalf("value of %s handed out earlier changed from %q to %q", h.key, h.copy, h.v)
				}
			}
			// Without reclaiming, the arenas would hold every record ever
			// written: some 8 MB.
			if b := tb.bytes(); b > tableShards*2*compactMin+64<<10 {
				t.Errorf("arenas hold %d bytes for %d small keys: dead records are not reclaimed", b, tb.len())
			}
		})
	}
}

// testStore opens a store in a temporary directory for the test.
func testStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// feed hands messages to a view's tailers as the topics deliver them:
// prefix "p/" for the profiles topic, "i/" for the identities, at
// increasing offsets of partition 0.
type feed struct {
	tailers map[string]*tailer
	off     int64
}

func newFeed(v *View) *feed {
	return &feed{tailers: map[string]*tailer{
		"p/": {v: v, topic: "profiles", prefix: "p/"},
		"i/": {v: v, topic: "identities", prefix: "i/"},
	}}
}

// put hands one message (a nil value is a tombstone).
func (f *feed) put(t *testing.T, prefix, key string, value []byte) {
	t.Helper()
	f.batch(t, prefix, kafka.Message{Key: []byte(key), Value: value})
}

// batch hands msgs in one call, as a fetch brings them.
func (f *feed) batch(t *testing.T, prefix string, msgs ...kafka.Message) {
	t.Helper()
	for i := range msgs {
		f.off++
		msgs[i].Offset = f.off
	}
	if err := f.tailers[prefix].Handle(context.Background(), 0, msgs); err != nil {
		t.Fatal(err)
	}
}

func testView(t *testing.T, db *store.DB) *View {
	t.Helper()
	v, err := New(kafka.Config{}, db, Options{CacheBytes: 1 << 20}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func testProfile(id string, recent, cart, bought []string) *profile.Profile {
	p := profile.New(id, "a:x")
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i, r := range recent {
		p.RecentItems = append(p.RecentItems, profile.RecentItem{ID: r, At: at.Add(-time.Duration(i) * time.Minute)})
	}
	for _, c := range cart {
		p.Cart.Lines = append(p.Cart.Lines, profile.CartLine{ProductID: c, Quantity: 1})
	}
	p.Orders.Bought = bought
	return p
}

func briefLists(b Brief) [3][]string {
	return [3][]string{b.Recent(nil), b.Cart(nil), b.Bought(nil)}
}

// TestBriefFollowsTheTopics: the brief of the profile an identifier points
// to follows the profile's snapshots, the identifier's re-pointing and the
// tombstones; a snapshot that does not decode leaves no stale brief.
func TestBriefFollowsTheTopics(t *testing.T) {
	db := testStore(t)
	v := testView(t, db)
	f := newFeed(v)
	put := func(prefix, key string, value []byte) { t.Helper(); f.put(t, prefix, key, value) }
	snap := func(p *profile.Profile) []byte {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	check := func(identifier string, want [3][]string) {
		t.Helper()
		b, err := v.Brief(identifier)
		if err != nil {
			t.Fatalf("Brief(%s): %v", identifier, err)
		}
		if got := briefLists(b); !slices.EqualFunc(got[:], want[:], slices.Equal) {
			t.Fatalf("Brief(%s) = %q, want %q", identifier, got, want)
		}
	}
	put("p/", "p_1", snap(testProfile("p_1", []string{"b", "a"}, []string{"c"}, []string{"d", "é"})))
	put("i/", "a:x", []byte("p_1"))
	check("a:x", [3][]string{{"b", "a"}, {"c"}, {"d", "é"}})
	check("p_1", [3][]string{{"b", "a"}, {"c"}, {"d", "é"}})
	put("p/", "p_1", snap(testProfile("p_1", []string{"z", "b", "a"}, nil, []string{"d", "é"})))
	check("a:x", [3][]string{{"z", "b", "a"}, nil, {"d", "é"}})
	put("p/", "p_2", snap(testProfile("p_2", nil, []string{"q", "r"}, nil)))
	put("i/", "a:x", []byte("p_2"))
	check("a:x", [3][]string{nil, {"q", "r"}, nil})
	// Several messages in one batch, as the tailer receives them.
	f.batch(t, "p/",
		kafka.Message{Key: []byte("p_3"), Value: snap(testProfile("p_3", []string{"m"}, nil, nil))},
		kafka.Message{Key: []byte("p_2"), Value: []byte(`{"cart":`)},
		kafka.Message{Key: []byte("p_4"), Value: snap(testProfile("p_4", nil, nil, []string{"n"}))})
	if _, err := v.Brief("a:x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Brief after an undecodable snapshot: %v, want ErrNotFound (no stale brief)", err)
	}
	check("p_3", [3][]string{{"m"}, nil, nil})
	check("p_4", [3][]string{nil, nil, {"n"}})
	put("p/", "p_3", nil)
	put("i/", "a:x", nil)
	for _, id := range []string{"a:x", "p_3"} {
		if _, err := v.Brief(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Brief(%s) after the tombstones: %v, want ErrNotFound", id, err)
		}
	}
	if _, err := v.Brief("x:nonsense"); !errors.Is(err, ErrBadIdentifier) {
		t.Errorf("Brief(x:nonsense): %v, want ErrBadIdentifier", err)
	}

	// A view opened again on the store has the same identifiers and briefs.
	w := testView(t, db)
	if _, err := w.Brief("p_3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("reopened: Brief(p_3): %v, want ErrNotFound", err)
	}
	b, err := w.Brief("p_4")
	if err != nil || !slices.Equal(b.Bought(nil), []string{"n"}) {
		t.Errorf("reopened: Brief(p_4) = %q, %v", briefLists(b), err)
	}
	if w.idx.len() != 0 || w.briefs.len() != 2 {
		t.Errorf("reopened: %d identifiers and %d briefs, want 0 and 2 (p_1, p_4)", w.idx.len(), w.briefs.len())
	}
}

// TestBriefsOfAnOlderStore: a store whose profiles were written without
// briefs gets them when a view opens it, once.
func TestBriefsOfAnOlderStore(t *testing.T) {
	db := testStore(t)
	b := db.NewBatch()
	for i := range 5000 {
		p := testProfile(fmt.Sprint("p_", i), []string{fmt.Sprint("r", i)}, nil, []string{fmt.Sprint("o", i)})
		raw, _ := json.Marshal(p)
		b.Set([]byte(fmt.Sprint("p/p_", i)), raw)
		b.Set([]byte(fmt.Sprint("i/u:user", i)), []byte(fmt.Sprint("p_", i)))
	}
	b.Set([]byte("p/p_bad"), []byte("{"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	v := testView(t, db)
	if v.briefs.len() != 5000 || v.idx.len() != 5000 {
		t.Fatalf("%d briefs and %d identifiers, want 5000 of each", v.briefs.len(), v.idx.len())
	}
	br, err := v.Brief("u:user4321")
	if err != nil || !slices.Equal(br.Recent(nil), []string{"r4321"}) || !slices.Equal(br.Bought(nil), []string{"o4321"}) {
		t.Errorf("Brief(u:user4321) = %q, %v", briefLists(br), err)
	}
	if _, err := db.Get([]byte(briefsKey)); err != nil {
		t.Errorf("the store is not marked as having briefs: %v", err)
	}
}

// TestAppendBriefIsTheTailersBrief: the brief AppendBrief makes of a
// profile is the one the tailer makes of its snapshot.
func TestAppendBriefIsTheTailersBrief(t *testing.T) {
	for _, p := range []*profile.Profile{
		testProfile("p_1", nil, nil, nil),
		testProfile("p_1", []string{"a", strings.Repeat("x", 300)}, []string{"c", "c"}, []string{"\"q\"", "ü"}),
	} {
		raw, _ := json.Marshal(p)
		got, err := briefOf(nil, raw)
		if err != nil {
			t.Fatal(err)
		}
		if want := AppendBrief(nil, p); string(got) != string(want) {
			t.Errorf("briefOf(snapshot) = %q, AppendBrief(profile) = %q", got, want)
		}
	}
}

// TestStoresLeanProfiles: the tailer stores a snapshot without the
// profiler's bookkeeping, and Profile answers what the whole snapshot
// decodes to without it; a snapshot it cannot read lean is stored whole.
func TestStoresLeanProfiles(t *testing.T) {
	db := testStore(t)
	v := testView(t, db)
	f := newFeed(v)
	p := testProfile("p_1", []string{"b", "a"}, []string{"c"}, []string{"d"})
	p.Recent = []string{"p:m1", "v:m2"}
	p.Counted = map[string]string{"visitor": "f1"}
	p.Merged = []string{"p_0"}
	snap, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, "p/", "p_1", snap)
	raw, err := db.Get([]byte("p/p_1"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := profile.AppendLean(nil, snap); string(raw) != string(want) || len(raw) >= len(snap) {
		t.Errorf("stored %s, want the lean snapshot %s", raw, want)
	}
	got, err := v.Profile("p_1")
	if err != nil {
		t.Fatal(err)
	}
	var want profile.Profile
	if err := profile.UnmarshalView(snap, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) || got.Recent != nil || got.Counted != nil {
		t.Errorf("Profile = %+v\nwant %+v", *got, want)
	}
	// Not an object: kept whole (and, as before, without a brief).
	f.put(t, "p/", "p_2", []byte(`[1]`))
	if raw, err := db.Get([]byte("p/p_2")); err != nil || string(raw) != `[1]` {
		t.Errorf("stored %q, %v; want the snapshot whole", raw, err)
	}
}
