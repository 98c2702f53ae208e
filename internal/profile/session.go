package profile

import (
	"slices"
	"sort"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// SessionGap is the inactivity that ends a session: a hit more than
// SessionGap after the last one (by event timestamps) starts a new session.
const SessionGap = 30 * time.Minute

// SessionCap is how many recent sessions a profile remembers.
const SessionCap = 8

// Session is one visit: hits none of which is more than SessionGap from
// the next.
type Session struct {
	Start time.Time `json:"start"`
	// End is the last activity of the session.
	End time.Time `json:"end"`
}

// Sessions counts a profile's visits and remembers the most recent ones.
//
// Hits are placed by their timestamp, not by their arrival, with these
// rules:
//
//   - a hit within SessionGap of a remembered session (before its start,
//     inside it, or after its end) belongs to it and stretches it; if it
//     closes the gap to the next session, the two become one and the
//     count drops by one;
//   - any other hit starts a new session, counted, even when it arrived
//     late (a device that was offline);
//   - except a hit older than the oldest remembered session while older
//     ones have been forgotten: it may belong to a forgotten session, so it
//     is not counted.
//
// Only page, screen and track hits are activity; identify, alias and
// group calls (often sent by servers) are not.
type Sessions struct {
	// Count is the number of sessions ever seen.
	Count int64 `json:"count"`
	// Recent are the latest sessions, oldest first, at most SessionCap,
	// each more than SessionGap from the next.
	Recent []Session `json:"recent,omitempty"`
}

// Current returns the latest session, or the zero Session.
func (s *Sessions) Current() Session {
	if len(s.Recent) == 0 {
		return Session{}
	}
	return s.Recent[len(s.Recent)-1]
}

// LastActivity returns the time of the latest activity, or the zero time.
func (s *Sessions) LastActivity() time.Time { return s.Current().End }

// Active reports whether a session is still open at now: its last activity
// is at most SessionGap before now.
func (s *Sessions) Active(now time.Time) bool {
	end := s.LastActivity()
	return !end.IsZero() && !now.After(end.Add(SessionGap))
}

// visit is what a hit did to the sessions.
type visit struct {
	kind int       // visitNone, visitStarted or visitMoved
	prev time.Time // for visitMoved, the session's start before
}

const (
	visitNone    = iota // the hit fell inside a session, or is not counted
	visitStarted        // the hit started a new session
	visitMoved          // the hit is its session's new, earlier, start
)

// activity reports whether hit e counts towards sessions.
func activity(e *event.Event) bool {
	switch e.Type {
	case event.TypePage, event.TypeScreen, event.TypeTrack:
		return true
	}
	return false
}

// add records activity at t.
func (s *Sessions) add(t time.Time) visit {
	n := len(s.Recent)
	// i is the first session that ends no more than SessionGap before t.
	i := sort.Search(n, func(i int) bool { return !s.Recent[i].End.Add(SessionGap).Before(t) })
	if i < n && !t.Before(s.Recent[i].Start.Add(-SessionGap)) {
		w := &s.Recent[i]
		switch {
		case t.Before(w.Start):
			prev := w.Start
			w.Start = t
			return visit{kind: visitMoved, prev: prev}
		case t.After(w.End):
			w.End = t
			if i+1 < n && !s.Recent[i+1].Start.Add(-SessionGap).After(t) {
				w.End = later(w.End, s.Recent[i+1].End)
				s.Recent = slices.Delete(s.Recent, i+1, i+2)
				s.Count--
			}
		}
		return visit{}
	}
	if i == 0 && n > 0 && s.Count > int64(n) {
		return visit{} // older than what is remembered, and some was forgotten
	}
	s.Recent = slices.Insert(s.Recent, i, Session{Start: t, End: t})
	s.Count++
	if len(s.Recent) > SessionCap {
		s.Recent = slices.Delete(s.Recent, 0, len(s.Recent)-SessionCap)
	}
	return visit{kind: visitStarted}
}

// absorb merges other's sessions: sessions of the two that overlap or
// come within SessionGap of each other (the login visit, seen half as
// anonymous and half as known) are one.
func (s *Sessions) absorb(other *Sessions) {
	all := slices.Concat(s.Recent, other.Recent)
	slices.SortFunc(all, func(a, b Session) int { return a.Start.Compare(b.Start) })
	merged := all[:0]
	joins := int64(0)
	for _, w := range all {
		if k := len(merged) - 1; k >= 0 && !w.Start.After(merged[k].End.Add(SessionGap)) {
			merged[k].End = later(merged[k].End, w.End)
			joins++
			continue
		}
		merged = append(merged, w)
	}
	s.Count = max(s.Count+other.Count-joins, int64(len(merged)))
	if len(merged) > SessionCap {
		merged = merged[len(merged)-SessionCap:]
	}
	s.Recent = slices.Clip(merged)
	if len(s.Recent) == 0 {
		s.Recent = nil
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
