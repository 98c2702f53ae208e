package profile

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// t0 is the time of the first hit in these tests.
var t0 = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// hit returns an event of type typ with message id id, at t0 plus min minutes.
func hit(typ, id string, min int) *event.Event {
	e := &event.Event{Type: typ, MessageID: id, AnonymousID: "a1", Timestamp: t0.Add(time.Duration(min) * time.Minute)}
	if typ == event.TypeTrack {
		e.Event = "Product Viewed"
	}
	return e
}

// mustApply applies events to p and fails the test when one is refused.
func mustApply(tb testing.TB, p *Profile, events ...*event.Event) {
	tb.Helper()
	for _, e := range events {
		if !p.Apply(e) {
			tb.Fatalf("Apply(%s %q) = false, want true", e.Type, e.MessageID)
		}
	}
}

// counts returns what a test checks of a profile's counters.
func counts(p *Profile) string { return fmt.Sprintf("events %d, page views %d", p.Events, p.PageViews) }

func TestNew(t *testing.T) {
	p := New("p_1", "a:a1")
	if p.ID != "p_1" || p.Key != "a:a1" || !slices.Equal(p.IDs, []string{"a:a1"}) {
		t.Errorf("New(%q, %q) = %+v, want the key as its only id", "p_1", "a:a1", p)
	}
	if !p.HasID("a:a1") || p.HasID("u:alice") {
		t.Errorf("New().HasID() = %v, %v for its key and another, want true, false", p.HasID("a:a1"), p.HasID("u:alice"))
	}
}

func TestApplyCounts(t *testing.T) {
	tests := []struct {
		name   string
		events []*event.Event
		want   string
	}{
		{"nothing", nil, "events 0, page views 0"},
		{"one page", []*event.Event{hit(event.TypePage, "m1", 0)}, "events 1, page views 1"},
		{"one screen", []*event.Event{hit(event.TypeScreen, "m1", 0)}, "events 1, page views 1"},
		{"one track", []*event.Event{hit(event.TypeTrack, "m1", 0)}, "events 1, page views 0"},
		{"every type", []*event.Event{
			hit(event.TypePage, "m1", 0), hit(event.TypeScreen, "m2", 1), hit(event.TypeTrack, "m3", 2),
			hit(event.TypeIdentify, "m4", 3), hit(event.TypeAlias, "m5", 4), hit(event.TypeGroup, "m6", 5),
		}, "events 6, page views 2"},
		{"hits without message id all count", []*event.Event{
			hit(event.TypePage, "", 0), hit(event.TypePage, "", 0), hit(event.TypeTrack, "", 0),
		}, "events 3, page views 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			mustApply(t, p, tc.events...)
			if got := counts(p); got != tc.want {
				t.Errorf("Apply() of %d hits: %s, want %s", len(tc.events), got, tc.want)
			}
			if p.Version != int64(len(tc.events)) {
				t.Errorf("Apply() of %d hits: version %d, want %d", len(tc.events), p.Version, len(tc.events))
			}
		})
	}
}

func TestApplyDuplicate(t *testing.T) {
	tests := []struct {
		name   string
		first  *event.Event
		second *event.Event
		want   bool // whether the second is applied
	}{
		{"page retried", hit(event.TypePage, "m1", 0), hit(event.TypePage, "m1", 0), false},
		{"track retried", hit(event.TypeTrack, "m1", 0), hit(event.TypeTrack, "m1", 0), false},
		{"retry with another timestamp", hit(event.TypeTrack, "m1", 0), hit(event.TypeTrack, "m1", 30), false},
		{"identify retried", hit(event.TypeIdentify, "m1", 0), hit(event.TypeIdentify, "m1", 0), false},
		{"distinct ids", hit(event.TypePage, "m1", 0), hit(event.TypePage, "m2", 1), true},
		{"message ids differ in case", hit(event.TypePage, "m1", 0), hit(event.TypePage, "M1", 1), true},
		{"no message id", hit(event.TypePage, "", 0), hit(event.TypePage, "", 0), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			mustApply(t, p, tc.first)
			before := clone(p)
			if got := p.Apply(tc.second); got != tc.want {
				t.Fatalf("Apply(%s %q) after Apply(%s %q) = %v, want %v", tc.second.Type, tc.second.MessageID, tc.first.Type, tc.first.MessageID, got, tc.want)
			}
			if !tc.want && !reflect.DeepEqual(p, before) {
				t.Errorf("Apply() of a duplicate changed the profile:\n got %+v\nwant %+v", p, before)
			}
		})
	}
}

func TestApplySeen(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name           string
		minutes        []int
		first, last    time.Time
		fromReceivedAt bool
	}{
		{"in order", []int{0, 5, 10}, at(0), at(10), false},
		{"out of order", []int{10, 0, 5}, at(0), at(10), false},
		{"late arrival of an early hit", []int{5, 10, -60}, at(-60), at(10), false},
		{"same time", []int{3, 3}, at(3), at(3), false},
		{"one hit", []int{7}, at(7), at(7), false},
		{"from receivedAt when no timestamp", []int{10, 0, 5}, at(0), at(10), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			for i, m := range tc.minutes {
				e := hit(event.TypePage, fmt.Sprint("m", i), m)
				if tc.fromReceivedAt {
					e.Timestamp, e.ReceivedAt = time.Time{}, e.Timestamp
				}
				mustApply(t, p, e)
			}
			if !p.FirstSeen.Equal(tc.first) || !p.LastSeen.Equal(tc.last) {
				t.Errorf("Apply() at minutes %v: first, last seen = %v, %v, want %v, %v", tc.minutes, p.FirstSeen, p.LastSeen, tc.first, tc.last)
			}
		})
	}

	t.Run("no time at all", func(t *testing.T) {
		p := New("p_1", "a:a1")
		mustApply(t, p, &event.Event{Type: event.TypePage, MessageID: "m1", AnonymousID: "a1"})
		if !p.FirstSeen.IsZero() || !p.LastSeen.IsZero() {
			t.Errorf("Apply() without timestamps: first, last seen = %v, %v, want zero", p.FirstSeen, p.LastSeen)
		}
		mustApply(t, p, hit(event.TypePage, "m2", 0))
		if !p.FirstSeen.Equal(t0) || !p.LastSeen.Equal(t0) {
			t.Errorf("Apply(): first, last seen = %v, %v, want %v, %v", p.FirstSeen, p.LastSeen, t0, t0)
		}
	})

	t.Run("times kept in UTC", func(t *testing.T) {
		p := New("p_1", "a:a1")
		e := hit(event.TypePage, "m1", 0)
		e.Timestamp = e.Timestamp.In(time.FixedZone("CEST", 2*3600))
		mustApply(t, p, e)
		if p.FirstSeen.Location() != time.UTC || p.LastSeen.Location() != time.UTC || !p.FirstSeen.Equal(t0) {
			t.Errorf("Apply() of a hit at %v: first, last seen = %v, %v, want %v in UTC", e.Timestamp, p.FirstSeen, p.LastSeen, t0)
		}
	})
}

func TestApplyTraits(t *testing.T) {
	const addr = "ada.lovelace@example.com"
	p := New("p_1", "u:ada")
	id := hit(event.TypeIdentify, "m1", 0)
	id.UserID = "ada"
	id.Traits = map[string]any{"email": addr, "name": "Ada", "plan": "free"}
	mustApply(t, p, id)

	id2 := hit(event.TypeIdentify, "m2", 1)
	id2.Traits = map[string]any{"plan": "premium", "email": "ADA.LOVELACE@example.com"}
	mustApply(t, p, id2)

	// Traits come from identify calls only.
	tr := hit(event.TypeTrack, "m3", 2)
	tr.Traits = map[string]any{"plan": "from a track", "email": addr}
	tr.Properties = map[string]any{"plan": "from properties"}
	mustApply(t, p, tr)

	want := map[string]any{"name": "Ada", "plan": "premium"}
	if !reflect.DeepEqual(p.Traits, want) {
		t.Errorf("Apply() traits = %v, want %v", p.Traits, want)
	}
	enc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.ToLower(string(enc)); strings.Contains(s, addr) || strings.Contains(s, "email") {
		t.Errorf("profile holds the email address in clear: %s", enc)
	}

	// An identify with only an email leaves no empty trait behind.
	p = New("p_2", "a:a2")
	only := hit(event.TypeIdentify, "m1", 0)
	only.Traits = map[string]any{"email": addr}
	mustApply(t, p, only)
	if _, ok := p.Traits["email"]; ok {
		t.Errorf("Apply() of an identify with only an email: traits = %v, want no email", p.Traits)
	}
}

func TestApplyRecentCap(t *testing.T) {
	p := New("p_1", "a:a1")
	const n = RecentCap + 50
	for i := range n {
		mustApply(t, p, hit(event.TypePage, fmt.Sprint("m", i), i))
	}
	if len(p.Recent) != RecentCap {
		t.Fatalf("after %d hits, len(Recent) = %d, want RecentCap %d", n, len(p.Recent), RecentCap)
	}
	if got, want := p.Recent[0], fmt.Sprint("p:m", n-RecentCap); got != want {
		t.Errorf("after %d hits, Recent[0] = %q, want the oldest kept, %q", n, got, want)
	}
	if got, want := p.Recent[RecentCap-1], fmt.Sprint("p:m", n-1); got != want {
		t.Errorf("after %d hits, Recent[%d] = %q, want the newest, %q", n, RecentCap-1, got, want)
	}
	// The newest are still recognised; the oldest are forgotten.
	if p.Apply(hit(event.TypePage, fmt.Sprint("m", n-1), 0)) {
		t.Errorf("Apply() of the newest hit again = true, want false")
	}
	if p.Apply(hit(event.TypePage, fmt.Sprint("m", n-RecentCap), 0)) {
		t.Errorf("Apply() of the oldest kept hit again = true, want false")
	}
	if !p.Apply(hit(event.TypePage, "m0", 0)) {
		t.Errorf("Apply() of a hit pushed out of Recent = false, want true")
	}
	if len(p.Recent) != RecentCap {
		t.Errorf("len(Recent) = %d, want RecentCap %d", len(p.Recent), RecentCap)
	}
}

func TestAddID(t *testing.T) {
	p := New("p_1", "a:a1")
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"u:alice", true},
		{"u:alice", false},
		{"a:a1", false}, // the key
		{"e:" + strings.Repeat("ab", 32), true},
		{"a:a2", true},
		{"a:a2", false},
	} {
		v := p.Version
		if got := p.AddID(tc.id); got != tc.want {
			t.Errorf("AddID(%q) = %v, want %v", tc.id, got, tc.want)
		}
		if tc.want && p.Version != v+1 || !tc.want && p.Version != v {
			t.Errorf("AddID(%q): version %d to %d, want a change only for a new id", tc.id, v, p.Version)
		}
		if !p.HasID(tc.id) {
			t.Errorf("HasID(%q) = false after AddID", tc.id)
		}
	}
	if want := []string{"a:a1", "u:alice", "e:" + strings.Repeat("ab", 32), "a:a2"}; !slices.Equal(p.IDs, want) {
		t.Errorf("IDs = %v, want %v", p.IDs, want)
	}
}

func TestAbsorb(t *testing.T) {
	// known is the identified profile, anon the device's profile before
	// login; both saw some hits, and a retry may have reached each.
	type hits []*event.Event
	tests := []struct {
		name        string
		known, anon hits
		want        string
	}{
		{"nothing in common",
			hits{hit(event.TypePage, "k1", 10), hit(event.TypeTrack, "k2", 11), hit(event.TypePage, "k3", 12)},
			hits{hit(event.TypePage, "a1", 0), hit(event.TypeTrack, "a2", 1)},
			"events 5, page views 3"},
		{"a page retry seen by both",
			hits{hit(event.TypePage, "k1", 10), hit(event.TypePage, "shared", 5)},
			hits{hit(event.TypePage, "a1", 0), hit(event.TypePage, "shared", 5)},
			"events 3, page views 3"},
		{"a track retry seen by both",
			hits{hit(event.TypePage, "k1", 10), hit(event.TypeTrack, "shared", 5)},
			hits{hit(event.TypePage, "a1", 0), hit(event.TypeTrack, "shared", 5)},
			"events 3, page views 2"},
		{"a screen retry seen by both",
			hits{hit(event.TypeScreen, "shared", 5)},
			hits{hit(event.TypeScreen, "shared", 5), hit(event.TypeTrack, "a1", 6)},
			"events 2, page views 1"},
		{"everything seen by both",
			hits{hit(event.TypePage, "s1", 0), hit(event.TypeTrack, "s2", 1)},
			hits{hit(event.TypePage, "s1", 0), hit(event.TypeTrack, "s2", 1)},
			"events 2, page views 1"},
		{"hits without message ids",
			hits{hit(event.TypePage, "", 0)},
			hits{hit(event.TypePage, "", 0), hit(event.TypeTrack, "", 1)},
			"events 3, page views 2"},
		{"an empty profile absorbed",
			hits{hit(event.TypePage, "k1", 0)},
			nil,
			"events 1, page views 1"},
		{"absorbed into an empty profile",
			nil,
			hits{hit(event.TypePage, "a1", 0), hit(event.TypeTrack, "a2", 1)},
			"events 2, page views 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
			mustApply(t, known, tc.known...)
			mustApply(t, anon, tc.anon...)
			if !known.Absorb(anon) {
				t.Fatalf("Absorb() = false, want true")
			}
			if got := counts(known); got != tc.want {
				t.Errorf("Absorb(): %s, want %s", got, tc.want)
			}
			// Every hit of either profile is now recognised.
			for _, e := range slices.Concat(tc.known, tc.anon) {
				if e.MessageID != "" && known.Apply(e) {
					t.Errorf("Apply(%s %q) after Absorb() = true, want the hit known", e.Type, e.MessageID)
				}
			}
		})
	}
}

func TestAbsorbTwice(t *testing.T) {
	known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
	mustApply(t, known, hit(event.TypePage, "k1", 10))
	mustApply(t, anon, hit(event.TypePage, "a1", 0), hit(event.TypeTrack, "a2", 1))
	if !known.Absorb(anon) {
		t.Fatalf("Absorb() = false, want true")
	}
	before := clone(known)
	if known.Absorb(anon) {
		t.Errorf("Absorb() of the same profile again = true, want false")
	}
	if !reflect.DeepEqual(known, before) {
		t.Errorf("Absorb() of the same profile again changed it:\n got %+v\nwant %+v", known, before)
	}

	// The same key after more hits (a replayed merge record) is a no-op too.
	mustApply(t, anon, hit(event.TypePage, "a3", 2))
	if known.Absorb(anon) {
		t.Errorf("Absorb() of the same key again = true, want false")
	}
	if !reflect.DeepEqual(known, before) {
		t.Errorf("Absorb() of the same key again changed the profile:\n got %+v\nwant %+v", known, before)
	}

	// A profile absorbed by one that is absorbed later is not counted again.
	other, third := New("p_o", "a:a2"), New("p_t", "a:a3")
	mustApply(t, third, hit(event.TypePage, "t1", 3))
	if !other.Absorb(third) {
		t.Fatalf("Absorb() = false, want true")
	}
	if !known.Absorb(other) {
		t.Fatalf("Absorb() = false, want true")
	}
	want := counts(known)
	if known.Absorb(third) {
		t.Errorf("Absorb() of a profile already absorbed through another = true, want false")
	}
	if got := counts(known); got != want {
		t.Errorf("Absorb() of a profile already absorbed through another: %s, want %s", got, want)
	}
	if wantMerged := []string{"a:a1", "a:a2", "a:a3"}; !slices.Equal(known.Merged, wantMerged) {
		t.Errorf("Merged = %v, want %v", known.Merged, wantMerged)
	}
}

func TestAbsorbIdentity(t *testing.T) {
	known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
	known.AddID("e:" + strings.Repeat("ab", 32))
	anon.AddID("a:a0")
	anon.AddID("e:" + strings.Repeat("ab", 32))

	idk := hit(event.TypeIdentify, "k1", 30)
	idk.Traits = map[string]any{"name": "Alice", "plan": "premium"}
	ida := hit(event.TypeIdentify, "a1", -30)
	ida.Traits = map[string]any{"plan": "free", "newsletter": true}
	mustApply(t, known, idk, hit(event.TypePage, "k2", 10))
	mustApply(t, anon, ida, hit(event.TypePage, "a2", 60))

	if !known.Absorb(anon) {
		t.Fatalf("Absorb() = false, want true")
	}
	if want := []string{"u:alice", "e:" + strings.Repeat("ab", 32), "a:a1", "a:a0"}; !slices.Equal(known.IDs, want) {
		t.Errorf("Absorb(): IDs = %v, want %v", known.IDs, want)
	}
	// The absorbing profile's traits win; the other fills the gaps.
	if want := map[string]any{"name": "Alice", "plan": "premium", "newsletter": true}; !reflect.DeepEqual(known.Traits, want) {
		t.Errorf("Absorb(): traits = %v, want %v", known.Traits, want)
	}
	if want := t0.Add(-30 * time.Minute); !known.FirstSeen.Equal(want) {
		t.Errorf("Absorb(): first seen = %v, want the other's earlier %v", known.FirstSeen, want)
	}
	if want := t0.Add(60 * time.Minute); !known.LastSeen.Equal(want) {
		t.Errorf("Absorb(): last seen = %v, want the other's later %v", known.LastSeen, want)
	}
	if !slices.Equal(known.Merged, []string{"a:a1"}) {
		t.Errorf("Absorb(): Merged = %v, want [a:a1]", known.Merged)
	}
	if known.Key != "u:alice" || known.ID != "p_k" {
		t.Errorf("Absorb(): key, id = %q, %q, want %q, %q", known.Key, known.ID, "u:alice", "p_k")
	}

	// First and last seen are only widened, never narrowed.
	inner := New("p_i", "a:inner")
	mustApply(t, inner, hit(event.TypePage, "i1", 0))
	first, last := known.FirstSeen, known.LastSeen
	known.Absorb(inner)
	if !known.FirstSeen.Equal(first) || !known.LastSeen.Equal(last) {
		t.Errorf("Absorb() of a profile seen in between: first, last seen = %v, %v, want %v, %v", known.FirstSeen, known.LastSeen, first, last)
	}

	// A profile without traits takes the other's.
	empty := New("p_e", "u:bob")
	empty.Absorb(anon)
	if want := map[string]any{"plan": "free", "newsletter": true}; !reflect.DeepEqual(empty.Traits, want) {
		t.Errorf("Absorb() into a profile without traits: traits = %v, want %v", empty.Traits, want)
	}
}

func TestAbsorbRecentCap(t *testing.T) {
	known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
	for i := range RecentCap {
		mustApply(t, known, hit(event.TypePage, fmt.Sprint("k", i), i))
		mustApply(t, anon, hit(event.TypeTrack, fmt.Sprint("a", i), i))
	}
	known.Absorb(anon)
	if len(known.Recent) != RecentCap {
		t.Errorf("Absorb() of two full profiles: len(Recent) = %d, want RecentCap %d", len(known.Recent), RecentCap)
	}
	if got, want := counts(known), fmt.Sprintf("events %d, page views %d", 2*RecentCap, RecentCap); got != want {
		t.Errorf("Absorb() of two full profiles: %s, want %s", got, want)
	}
}

// TestAbsorbKeepsOwnRecent checks that absorbing a profile with a full
// Recent does not push out the absorbing profile's own newest hits: a
// client retry of the hit it has just applied must still be recognised.
func TestAbsorbKeepsOwnRecent(t *testing.T) {
	known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
	for i := range RecentCap {
		mustApply(t, anon, hit(event.TypePage, fmt.Sprint("a", i), i))
	}
	mustApply(t, known, hit(event.TypePage, "k-newest", 10*RecentCap))
	known.Absorb(anon)
	want := counts(known)
	if known.Apply(hit(event.TypePage, "k-newest", 10*RecentCap)) {
		t.Errorf("Apply() of a retry of the absorbing profile's newest hit, after Absorb() of a profile with %d recent hits = true, want false (%s, want %s)", RecentCap, counts(known), want)
	}
}

// clone returns a copy of p that shares nothing with it that Apply,
// AddID or Absorb change.
func clone(p *Profile) *Profile {
	c := *p
	c.IDs, c.Recent, c.Merged = slices.Clone(p.IDs), slices.Clone(p.Recent), slices.Clone(p.Merged)
	c.Traits = maps.Clone(p.Traits)
	return &c
}
