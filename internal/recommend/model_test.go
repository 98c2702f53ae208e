package recommend

import (
	"fmt"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	tests := []struct {
		name     string
		events   []Interaction
		sessions int // sessions ever started
	}{
		{"one visit", []Interaction{
			{Visitor: "v", Item: "A", Kind: View, Time: t0},
			{Visitor: "v", Item: "B", Kind: View, Time: t0.Add(29 * time.Minute)},
		}, 1},
		{"idle gap", []Interaction{
			{Visitor: "v", Item: "A", Kind: View, Time: t0},
			{Visitor: "v", Item: "B", Kind: View, Time: t0.Add(31 * time.Minute)},
		}, 2},
		{"new session id", []Interaction{
			{Visitor: "v", Session: "1", Item: "A", Kind: View, Time: t0},
			{Visitor: "v", Session: "2", Item: "B", Kind: View, Time: t0.Add(time.Minute)},
		}, 2},
		{"session ids without visitors", []Interaction{
			{Session: "1", Item: "A", Kind: View, Time: t0},
			{Session: "2", Item: "B", Kind: View, Time: t0.Add(time.Minute)},
			{Session: "1", Item: "C", Kind: View, Time: t0.Add(2 * time.Minute)},
		}, 2},
		{"out of order", []Interaction{
			{Visitor: "v", Item: "A", Kind: View, Time: t0.Add(time.Minute)},
			{Visitor: "v", Item: "B", Kind: View, Time: t0},
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := New(Config{})
			for _, in := range tc.events {
				if err := m.Observe(in); err != nil {
					t.Fatal(err)
				}
			}
			if got := m.st.nSess; got != int64(tc.sessions) {
				t.Errorf("sessions = %d, want %d", got, tc.sessions)
			}
		})
	}
}

// TestBounds checks the memory bounds of the package documentation.
func TestBounds(t *testing.T) {
	cfg := Config{SessionsPerItem: 3, MaxSessionLen: 4, MaxItemNeighbors: 5}
	m, _ := New(cfg)
	at := t0
	// 50 visitors, one after the other, each viewing the hub item H and 10
	// items of their own; a visit an hour.
	for v := range 50 {
		for i := range 10 {
			for _, it := range []string{"H", fmt.Sprint("i", v, "-", i)} {
				if err := m.Observe(Interaction{Visitor: fmt.Sprint("v", v), Item: it, Kind: View, Time: at}); err != nil {
					t.Fatal(err)
				}
				at = at.Add(time.Second)
			}
		}
		at = at.Add(time.Hour)
	}
	st := m.st
	for i := range st.items {
		x := &st.items[i]
		if len(x.ring.s) > cfg.SessionsPerItem {
			t.Errorf("item %s remembers %d sessions, want at most %d", x.name, len(x.ring.s), cfg.SessionsPerItem)
		}
		for _, n := range []nbrs{x.co, x.next, x.bought} {
			if len(n) >= 2*cfg.MaxItemNeighbors {
				t.Errorf("item %s has %d neighbours, want fewer than %d", x.name, len(n), 2*cfg.MaxItemNeighbors)
			}
		}
	}
	for s := range st.sessions {
		if n := len(st.sessions[s].items); n > cfg.MaxSessionLen {
			t.Errorf("session %d holds %d items, want at most %d", s, n, cfg.MaxSessionLen)
		}
	}
	if got := m.Stats(); got.LiveSessions != 1 {
		t.Errorf("Stats() = %+v, want 1 live session", got)
	}
	// Every held session is referenced or live; refs match the rings.
	refs := make(map[uint32]int32)
	for i := range st.items {
		for _, s := range st.items[i].ring.s {
			refs[s]++
		}
	}
	for s := range st.sessions {
		ss := &st.sessions[s]
		if ss.used && ss.refs != refs[uint32(s)] {
			t.Errorf("session %d has refs %d, rings hold it %d times", s, ss.refs, refs[uint32(s)])
		}
		if ss.used && ss.refs == 0 && ss.key == "" {
			t.Errorf("session %d is held with no reference", s)
		}
	}
}

// TestSessionsFreed checks that sessions no item remembers are freed: 50
// visits of the same two items leave the 3 each item remembers.
func TestSessionsFreed(t *testing.T) {
	m, _ := New(Config{SessionsPerItem: 3})
	for v := range 50 {
		for j, it := range []string{"G", "H"} {
			at := t0.Add(time.Duration(v)*time.Hour + time.Duration(j)*time.Minute)
			if err := m.Observe(Interaction{Visitor: fmt.Sprint("v", v), Item: it, Kind: View, Time: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := m.Stats(); got.Sessions != 3 || got.LiveSessions != 1 || got.Items != 2 || got.Observed != 100 {
		t.Errorf("Stats() = %+v, want 3 sessions held, 1 live, 2 items, 100 observed", got)
	}
	if got := len(m.st.sessions); got > 5 {
		t.Errorf("%d session slots, want freed slots reused", got)
	}
}

func TestSelectTop(t *testing.T) {
	for n := range 40 {
		for k := range n + 2 {
			a := make([]int, n)
			for i := range a {
				a[i] = (i * 7919) % 31
			}
			selectTop(a, k, func(x, y int) int { return y - x })
			for i := 1; i < min(k, n); i++ {
				if a[i] > a[i-1] {
					t.Fatalf("selectTop(n=%d, k=%d) = %v: not sorted", n, k, a)
				}
			}
			for i := k; i < n; i++ {
				if k > 0 && a[i] > a[k-1] {
					t.Fatalf("selectTop(n=%d, k=%d) = %v: %d left out", n, k, a, a[i])
				}
			}
		}
	}
}

func TestDecayRebase(t *testing.T) {
	// Two years of events, a rebase every ~21 days of the 1-hour half-life:
	// the counts stay finite and the order by recency holds.
	m, _ := New(Config{TrendingHalfLife: time.Hour})
	for d := range 730 {
		it := "old"
		if d >= 700 {
			it = "new"
		}
		if err := m.Observe(Interaction{Visitor: fmt.Sprint(d), Item: it, Kind: View, Time: t0.Add(time.Duration(d) * day)}); err != nil {
			t.Fatal(err)
		}
	}
	m.Refresh()
	got := m.Recommend(Request{Type: Popular})
	if len(got) != 2 || got[0].Item != "new" || got[0].Score <= 0 || got[0].Score > 11 {
		t.Errorf("popular after two years = %v, want new first with a finite score", got)
	}
}
