package recommend

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the time of the first hand-made event.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// sess is a hand-made session: a visitor's items at one-minute steps from
// start, all of one kind.
type sess struct {
	visitor string
	start   time.Duration
	kind    Kind
	items   string // space-separated item ids
	cat     string // category of every item
}

// mustModel returns a Model of cfg that has observed the sessions in order.
func mustModel(tb testing.TB, cfg Config, sessions ...sess) *Model {
	tb.Helper()
	m, err := New(cfg)
	if err != nil {
		tb.Fatalf("New(%+v) = %v", cfg, err)
	}
	mustObserve(tb, m, sessions...)
	m.Refresh()
	return m
}

// mustObserve feeds the sessions to m.
func mustObserve(tb testing.TB, m *Model, sessions ...sess) {
	tb.Helper()
	for _, s := range sessions {
		k := s.kind
		if k == 0 {
			k = View
		}
		for j, it := range strings.Fields(s.items) {
			in := Interaction{Visitor: s.visitor, Item: it, Kind: k, Category: s.cat,
				Time: t0.Add(s.start + time.Duration(j)*time.Minute)}
			if err := m.Observe(in); err != nil {
				tb.Fatalf("Observe(%+v) = %v", in, err)
			}
		}
	}
}

// items returns the ids of the recommendations, each followed by its
// reason when it is not want.
func items(got []Scored, reason string) string {
	var b []string
	for _, s := range got {
		if s.Reason == reason {
			b = append(b, s.Item)
		} else {
			b = append(b, s.Item+"("+s.Reason+")")
		}
		if !(s.Score > 0) {
			b = append(b, "!nonpositive")
		}
	}
	return strings.Join(b, " ")
}

// plain is a Config with only V-SKNN: no idf, sequences nor reminders.
var plain = Config{IDFWeight: -1, SequenceWeight: -1, RemindWeight: -1}

// checkSorted fails when the scores of one reason are not descending.
func checkSorted(tb testing.TB, got []Scored) {
	tb.Helper()
	last := map[string]float64{}
	for _, s := range got {
		if v, ok := last[s.Reason]; ok && s.Score > v {
			tb.Errorf("scores not descending within %q: %v", s.Reason, got)
		}
		last[s.Reason] = s.Score
	}
	names := make([]string, len(got))
	for i, s := range got {
		names[i] = s.Item
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != len(got) {
		tb.Errorf("duplicate items in %v", got)
	}
}
