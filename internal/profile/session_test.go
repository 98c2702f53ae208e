package profile

import (
	"slices"
	"testing"

	"github.com/ecrm/ecrm/internal/event"
)

func TestSessions(t *testing.T) {
	tests := []struct {
		name       string
		minutes    []int // hit times, in arrival order
		want       int64
		start, end int // of the current session, in minutes
	}{
		{"one hit", []int{0}, 1, 0, 0},
		{"within the gap", []int{0, 10, 39}, 1, 0, 39},
		{"exactly the gap", []int{0, 30}, 1, 0, 30},
		{"just over the gap", []int{0, 31}, 2, 31, 31},
		{"three visits", []int{0, 5, 100, 110, 300}, 3, 300, 300},
		{"out of order inside a session", []int{0, 20, 10}, 1, 0, 20},
		{"late hit before the start", []int{20, 40, 0}, 1, 0, 40},
		{"late hit joins two sessions", []int{0, 50, 25}, 1, 0, 50},
		{"late hit joins the last two of three", []int{0, 100, 150, 125}, 2, 100, 150},
		{"late hit of an earlier visit", []int{100, 0}, 2, 100, 100},
		{"late hit between two visits", []int{0, 200, 100}, 3, 200, 200},
		{"same time", []int{7, 7, 7}, 1, 7, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			for _, m := range tc.minutes {
				applyAll(t, p, ePage(mins(m)))
			}
			s := p.Sessions
			if s.Count != tc.want {
				t.Errorf("hits at minutes %v: %d sessions, want %d (%v)", tc.minutes, s.Count, tc.want, s.Recent)
			}
			if cur := s.Current(); !cur.Start.Equal(mins(tc.start)) || !cur.End.Equal(mins(tc.end)) || !s.LastActivity().Equal(mins(tc.end)) {
				t.Errorf("hits at minutes %v: current session %v to %v, want minutes %d to %d", tc.minutes, cur.Start, cur.End, tc.start, tc.end)
			}
			checkSessions(t, &s)
		})
	}
}

// checkSessions fails the test unless s's remembered sessions are in
// order, within their bound, each more than SessionGap from the next.
func checkSessions(tb testing.TB, s *Sessions) {
	tb.Helper()
	if len(s.Recent) > SessionCap || int64(len(s.Recent)) > s.Count {
		tb.Errorf("%d sessions remembered of %d, cap %d", len(s.Recent), s.Count, SessionCap)
	}
	for i, w := range s.Recent {
		if w.End.Before(w.Start) {
			tb.Errorf("session %d ends before it starts: %v", i, w)
		}
		if i > 0 && !w.Start.After(s.Recent[i-1].End.Add(SessionGap)) {
			tb.Errorf("sessions %d and %d are not SessionGap apart: %v", i-1, i, s.Recent)
		}
	}
}

func TestSessionsForgotten(t *testing.T) {
	p := New("p_1", "a:a1")
	n := SessionCap + 3
	for i := range n {
		applyAll(t, p, ePage(mins(1000+100*i)))
	}
	if p.Sessions.Count != int64(n) || len(p.Sessions.Recent) != SessionCap {
		t.Fatalf("%d visits: count %d, remembered %d; want %d, %d", n, p.Sessions.Count, len(p.Sessions.Recent), n, SessionCap)
	}
	// Older than anything remembered: it may belong to a forgotten session.
	applyAll(t, p, ePage(mins(0)))
	if p.Sessions.Count != int64(n) {
		t.Errorf("a hit before the forgotten sessions: count %d, want %d", p.Sessions.Count, n)
	}
	// Between remembered sessions: a real visit.
	applyAll(t, p, ePage(mins(1000+100*(n-2)+50)))
	if p.Sessions.Count != int64(n+1) {
		t.Errorf("a late hit between remembered visits: count %d, want %d", p.Sessions.Count, n+1)
	}
	checkSessions(t, &p.Sessions)

	// While nothing is forgotten, an earlier visit counts.
	q := New("p_2", "a:a2")
	applyAll(t, q, ePage(mins(1000)), ePage(mins(0)))
	if q.Sessions.Count != 2 {
		t.Errorf("a late earlier visit with nothing forgotten: count %d, want 2", q.Sessions.Count)
	}
}

func TestSessionsActivity(t *testing.T) {
	p := New("p_1", "a:a1")
	id := &event.Event{Type: event.TypeIdentify, MessageID: "i1", UserID: "u", Timestamp: mins(0)}
	alias := &event.Event{Type: event.TypeAlias, MessageID: "i2", UserID: "u", PreviousID: "a", Timestamp: mins(100)}
	noTime := &event.Event{Type: event.TypePage, MessageID: "i3", AnonymousID: "a1"}
	applyAll(t, p, id, alias, noTime)
	if p.Sessions.Count != 0 {
		t.Errorf("identify, alias and a hit without time: %d sessions, want 0", p.Sessions.Count)
	}
	received := &event.Event{Type: event.TypeTrack, Event: "Signed Up", MessageID: "i4", AnonymousID: "a1", ReceivedAt: mins(5)}
	applyAll(t, p, received)
	if p.Sessions.Count != 1 || !p.Sessions.Current().Start.Equal(mins(5)) {
		t.Errorf("a track with only receivedAt: sessions %+v, want one at minute 5", p.Sessions)
	}
	if !p.Sessions.Active(mins(35)) || p.Sessions.Active(mins(36)) {
		t.Errorf("Active(5 + 30 min), Active(5 + 31 min) = %v, %v; want true, false", p.Sessions.Active(mins(35)), p.Sessions.Active(mins(36)))
	}
}

func TestSessionsAbsorb(t *testing.T) {
	tests := []struct {
		name        string
		known, anon []int // minutes of hits
		want        int64
	}{
		{"the login visit seen by both", []int{20, 25}, []int{0, 10}, 1},
		{"separate visits", []int{200}, []int{0, 10}, 2},
		{"one visit bridges two", []int{0, 60}, []int{30}, 1},
		{"interleaved devices", []int{0, 40, 80}, []int{20, 60}, 1},
		{"apart by more than the gap", []int{0, 100, 200}, []int{50, 150}, 5},
		{"nothing absorbed", []int{0}, nil, 1},
		{"into an empty profile", nil, []int{0, 100}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
			for _, m := range tc.known {
				applyAll(t, known, ePage(mins(m)))
			}
			for _, m := range tc.anon {
				applyAll(t, anon, ePage(mins(m)))
			}
			known.Absorb(anon)
			if known.Sessions.Count != tc.want {
				t.Errorf("Absorb() of sessions at %v into %v: count %d, want %d (%v)", tc.anon, tc.known, known.Sessions.Count, tc.want, known.Sessions.Recent)
			}
			checkSessions(t, &known.Sessions)
			all := slices.Concat(tc.known, tc.anon)
			if len(all) > 0 && !known.Sessions.LastActivity().Equal(mins(slices.Max(all))) {
				t.Errorf("Absorb(): last activity %v, want minute %d", known.Sessions.LastActivity(), slices.Max(all))
			}
		})
	}
}

func TestSessionsAbsorbBound(t *testing.T) {
	known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
	for i := range SessionCap {
		applyAll(t, known, ePage(mins(1000*i)))
		applyAll(t, anon, ePage(mins(1000*i+500)))
	}
	known.Absorb(anon)
	if known.Sessions.Count != 2*SessionCap || len(known.Sessions.Recent) != SessionCap {
		t.Errorf("Absorb() of two full histories: count %d, remembered %d; want %d, %d", known.Sessions.Count, len(known.Sessions.Recent), 2*SessionCap, SessionCap)
	}
	checkSessions(t, &known.Sessions)
	if got, want := known.Sessions.Current().Start, mins(1000*(SessionCap-1)+500); !got.Equal(want) {
		t.Errorf("Absorb(): current session starts %v, want %v", got, want)
	}
}
