package recommend

import (
	"fmt"
	"testing"
	"time"
)

const (
	minute = time.Minute
	day    = 24 * time.Hour
)

// knnSessions: the current session A B finds s1 and s2 (A and B: similarity
// (1/2+1)/2) and s3 (B only: 1/2).
var knnSessions = []sess{
	{visitor: "v1", start: 0, items: "A B C"},
	{visitor: "v2", start: 10 * minute, items: "A B D"},
	{visitor: "v3", start: 20 * minute, items: "B E"},
	{visitor: "v4", start: 30 * minute, items: "X Y"},
}

func TestPersonal(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		data []sess
		req  Request
		want string
	}{
		{
			// A: s1+s2 = 1.5, C: s1 = .75, D: s2 = .75 (D more popular,
			// being more recent), E: s3 = .5; then popular fills in.
			name: "v-sknn", cfg: plain, data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"A", "B"}},
			want: "A D C E Y(popular) X(popular)",
		},
		{
			name: "one neighbour, the more recent of a tie", cfg: Config{Neighbors: 1, IDFWeight: -1, SequenceWeight: -1, RemindWeight: -1},
			data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"A", "B"}},
			want: "A D Y(popular) X(popular) E(popular) C(popular)",
		},
		{
			name: "sample of the most recent session", cfg: Config{SampleSize: 1, IDFWeight: -1, SequenceWeight: -1, RemindWeight: -1},
			data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"A", "B"}},
			want: "E A(popular) Y(popular) X(popular) D(popular) C(popular)",
		},
		{
			name: "the current item may come back when not on screen", cfg: plain, data: knnSessions,
			req:  Request{Type: Personal, Context: []string{"A", "B"}, N: 3},
			want: "B A D",
		},
		{
			name: "item appended to the context", cfg: plain, data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"A"}, N: 4},
			want: "A D C E",
		},
		{
			// C B: s1 = .75 (step 1), s2 and s3 = .5: A 1.25, C .75,
			// D = E = .5 (E more recent), over 1.75.
			name: "no reminder", cfg: plain, data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"C", "B"}, N: 4},
			want: "A C E D",
		},
		{
			// C, one step back, gets 2·1/2 on the scale of the best (1).
			name: "reminder", cfg: Config{IDFWeight: -1, SequenceWeight: -1, RemindWeight: 2}, data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"C", "B"}, N: 4},
			want: "C A E D",
		},
		{
			// Every session holds P: Q and R get two votes each, R is more
			// recent; but Q follows P twice, R once two steps on.
			name: "no sequence", cfg: plain,
			data: []sess{{visitor: "v1", items: "P Q R"}, {visitor: "v2", start: 10 * minute, items: "P Q"}, {visitor: "v3", start: 20 * minute, items: "R P"}},
			req:  Request{Type: Personal, Item: "P", N: 2},
			want: "R Q",
		},
		{
			name: "sequence", cfg: Config{IDFWeight: -1, SequenceWeight: 0.5, RemindWeight: -1},
			data: []sess{{visitor: "v1", items: "P Q R"}, {visitor: "v2", start: 10 * minute, items: "P Q"}, {visitor: "v3", start: 20 * minute, items: "R P"}},
			req:  Request{Type: Personal, Item: "P", N: 2},
			want: "Q R",
		},
		{
			name: "unknown context falls back to popular", cfg: Config{}, data: knnSessions,
			req:  Request{Type: Personal, Context: []string{"nope"}, N: 3},
			want: "B(popular) A(popular) Y(popular)",
		},
		{
			name: "unknown visitor falls back to popular", cfg: Config{}, data: knnSessions,
			req:  Request{Type: Personal, Visitor: "nobody", N: 3},
			want: "B(popular) A(popular) Y(popular)",
		},
		{
			name: "defaults", cfg: Config{}, data: knnSessions,
			req:  Request{Type: Personal, Item: "B", Context: []string{"A", "B"}, N: 4},
			want: "A D C E",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, tc.cfg, tc.data...)
			got := m.Recommend(tc.req)
			if s := items(got, "personal"); s != tc.want {
				t.Errorf("Recommend(%+v) = %s (%v), want %s", tc.req, s, got, tc.want)
			}
			checkSorted(t, got)
		})
	}
}

func TestPersonalFromVisitor(t *testing.T) {
	m := mustModel(t, plain, append(knnSessions, sess{visitor: "me", start: 40 * minute, items: "A B"})...)
	fromModel := m.Recommend(Request{Type: Personal, Visitor: "me", Item: "B"})
	given := m.Recommend(Request{Type: Personal, Visitor: "me", Item: "B", Context: []string{"A", "B"}})
	if a, b := fmt.Sprint(fromModel), fmt.Sprint(given); a != b {
		t.Errorf("personal from the live session = %s, from the same context = %s", a, b)
	}
	if got, want := items(fromModel, "personal")[:7], "A D C E"; got != want {
		t.Errorf("personal from the live session = %v, want %s first (its own session is no neighbour)", fromModel, want)
	}
}

// simSessions: co-occurrence A-B 2, A-C 1, A-D 1, B-C 2; weights A 3,
// B 3, C 2, D 1.
var simSessions = []sess{
	{visitor: "v1", start: 0, items: "A B C"},
	{visitor: "v2", start: 10 * minute, items: "A B"},
	{visitor: "v3", start: 20 * minute, items: "A D"},
	{visitor: "v4", start: 30 * minute, items: "B C"},
}

func TestSimilar(t *testing.T) {
	tests := []struct {
		name string
		data []sess
		req  Request
		want string
	}{
		// B 2/√9, D 1/√3, C 1/√6.
		{"cosine", simSessions, Request{Type: Similar, Item: "A"}, "B D C"},
		// B 2/√6, A 1/√6, then the rest of the popular items.
		{"fill", simSessions, Request{Type: Similar, Item: "C"}, "B A D(popular)"},
		// A cart pair weighs 3: C-D 3/√(5·4) beats B 2/√(5·3) and A 1/√15.
		{"kinds", append(simSessions, sess{visitor: "v5", start: 40 * minute, kind: Cart, items: "C D"}),
			Request{Type: Similar, Item: "C"}, "D B A"},
		{"unknown item", simSessions, Request{Type: Similar, Item: "nope", N: 2}, "B(popular) A(popular)"},
		{"no item", simSessions, Request{Type: Similar, N: 2}, "B(popular) A(popular)"},
		{"n", simSessions, Request{Type: Similar, Item: "A", N: 1}, "B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, Config{}, tc.data...)
			got := m.Recommend(tc.req)
			if s := items(got, "similar"); s != tc.want {
				t.Errorf("Recommend(%+v) = %s (%v), want %s", tc.req, s, got, tc.want)
			}
			checkSorted(t, got)
		})
	}
}

func TestTogether(t *testing.T) {
	data := []sess{
		{visitor: "v1", start: 0, kind: Order, items: "A B"},
		{visitor: "v2", start: 10 * minute, kind: Order, items: "A B"},
		{visitor: "v3", start: 20 * minute, kind: Order, items: "A C"},
		{visitor: "v4", start: 30 * minute, kind: View, items: "A D"},
		// Viewed, then bought: the upgrade pairs E and F.
		{visitor: "v5", start: 40 * minute, kind: View, items: "E F"},
		{visitor: "v5", start: 43 * minute, kind: Order, items: "E F"},
	}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		// B 2/3, C 1/3; D was only viewed with A.
		{"confidence", Request{Type: Together, Item: "A", N: 2}, "B C"},
		// The cart A C: B from A; A from C, but in the cart.
		{"cart", Request{Type: Together, Context: []string{"A", "C"}, N: 1}, "B"},
		{"upgrade to order", Request{Type: Together, Item: "E", N: 1}, "F"},
		{"nothing bought", Request{Type: Together, Item: "D", N: 1}, "A(popular)"},
	}
	m := mustModel(t, Config{}, data...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Recommend(tc.req)
			if s := items(got, "together"); s != tc.want {
				t.Errorf("Recommend(%+v) = %s (%v), want %s", tc.req, s, got, tc.want)
			}
			checkSorted(t, got)
		})
	}
}

func TestPopularTrending(t *testing.T) {
	var data []sess
	for d := range 30 { // P: one view a day for a month
		data = append(data, sess{visitor: fmt.Sprint("p", d), start: time.Duration(d) * day, items: "P", cat: "shoes"})
	}
	data = append(data,
		sess{visitor: "r", start: 10 * day, items: "R", cat: "hats"},                   // R: once, long ago
		sess{visitor: "q", start: 29*day + time.Hour, items: "Q Q Q Q Q", cat: "hats"}, // Q: a burst today
	)
	m := mustModel(t, Config{}, data...)
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"popular", Request{Type: Popular}, "P(popular) Q(popular) R(popular)"},
		{"trending", Request{Type: Trending}, "Q(trending) P(trending) R(trending)"},
		{"popular in a category", Request{Type: Popular, Category: "hats"}, "Q(popular) R(popular)"},
		{"trending in a category", Request{Type: Trending, Category: "hats", N: 1}, "Q(trending)"},
		{"unknown category", Request{Type: Popular, Category: "socks"}, ""},
		{"unknown type", Request{Type: "best", N: 1}, "P(popular)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Recommend(tc.req)
			if s := items(got, ""); s != tc.want {
				t.Errorf("Recommend(%+v) = %s (%v), want %s", tc.req, s, got, tc.want)
			}
			checkSorted(t, got)
		})
	}
}

func TestFilters(t *testing.T) {
	data := []sess{
		{visitor: "v1", start: 0, items: "A B", cat: "shoes"},
		{visitor: "v1", start: 2 * minute, items: "C D", cat: "hats"},
		{visitor: "v2", start: 10 * minute, items: "A B", cat: "shoes"},
		{visitor: "v3", start: 20 * minute, items: "A B", cat: "shoes"},
	}
	// Co-occurrence: A-B 3, A-C, A-D, B-C, B-D, C-D 1; weights A 3, B 3,
	// C 1, D 1. Ties go to the more popular (here, more recent) item.
	m := mustModel(t, plain, data...)
	noB := func(item string) bool { return item != "B" }
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"none", Request{Type: Similar, Item: "A"}, "B D C"},
		{"exclude", Request{Type: Similar, Item: "A", Exclude: []string{"B", "nope"}}, "D C"},
		{"category", Request{Type: Similar, Item: "A", Category: "hats"}, "D C"},
		{"available", Request{Type: Similar, Item: "A", Available: noB}, "D C"},
		{"category of another seed", Request{Type: Similar, Item: "C", Category: "shoes"}, "B A"},
		{"fill from the category", Request{Type: Personal, Context: []string{"nope"}, Category: "hats"}, "D(popular) C(popular)"},
		{"personal, everything", Request{Type: Personal, Item: "A", Exclude: []string{"B", "C", "D"}, Category: "hats"}, ""},
		{"popular, available", Request{Type: Popular, Available: noB, N: 2}, "A D"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Recommend(tc.req)
			if s := items(got, string(tc.req.Type)); s != tc.want {
				t.Errorf("Recommend(%+v) = %s (%v), want %s", tc.req, s, got, tc.want)
			}
		})
	}
}

func TestZeroModel(t *testing.T) {
	var m Model
	if got := m.Recommend(Request{Type: Personal, Context: []string{"A"}}); len(got) != 0 {
		t.Errorf("Recommend on an empty model = %v, want nothing", got)
	}
	mustObserve(t, &m, sess{visitor: "v", items: "A B"})
	m.Refresh()
	if got := items(m.Recommend(Request{Type: Similar, Item: "A"}), "similar"); got != "B" {
		t.Errorf("similar on a zero Model = %s, want B", got)
	}
	if c := m.Config(); c.Neighbors != DefaultNeighbors || c.RemindWeight != DefaultRemindWeight {
		t.Errorf("Config() = %+v, want the defaults", c)
	}
}

func TestValidate(t *testing.T) {
	ok := Interaction{Visitor: "v", Item: "i", Kind: View, Time: t0}
	long := string(make([]byte, MaxIDLength+1))
	tests := []struct {
		name string
		edit func(*Interaction)
		ok   bool
	}{
		{"ok", func(*Interaction) {}, true},
		{"session only", func(in *Interaction) { in.Visitor, in.Session = "", "s" }, true},
		{"no visitor", func(in *Interaction) { in.Visitor = "" }, false},
		{"no item", func(in *Interaction) { in.Item = "" }, false},
		{"no kind", func(in *Interaction) { in.Kind = 0 }, false},
		{"bad kind", func(in *Interaction) { in.Kind = 9 }, false},
		{"no time", func(in *Interaction) { in.Time = time.Time{} }, false},
		{"long item", func(in *Interaction) { in.Item = long }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.edit(&in)
			var m Model
			err := m.Observe(in)
			if (err == nil) != tc.ok {
				t.Errorf("Observe(%+v) = %v, want ok %v", in, err, tc.ok)
			}
			if !tc.ok && m.Stats().Observed != 0 {
				t.Errorf("Observe(%+v) learnt from an invalid interaction", in)
			}
		})
	}
	for _, c := range []Config{{Neighbors: -1}, {SessionGap: -time.Second}, {PositionWeighting: 99}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) = nil error, want one", c)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"view", "cart", "order"} {
		if k, err := ParseKind(s); err != nil || k.String() != s {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"same", "div", "quadratic", "linear", "log"} {
		if w, err := ParseWeighting(s); err != nil || w.String() != s {
			t.Errorf("ParseWeighting(%q) = %v, %v", s, w, err)
		}
	}
	for _, s := range []string{"similar", "together", "personal", "popular", "trending"} {
		if ty, err := ParseType(s); err != nil || string(ty) != s {
			t.Errorf("ParseType(%q) = %v, %v", s, ty, err)
		}
	}
	if _, err := ParseKind("click"); err == nil {
		t.Error("ParseKind(click) = nil error")
	}
	if _, err := ParseType("best"); err == nil {
		t.Error("ParseType(best) = nil error")
	}
}

// TestForget: after an erasure the visitor's live session no longer
// informs their recommendations; a new interaction starts afresh.
func TestForget(t *testing.T) {
	m := mustModel(t, plain, append(knnSessions, sess{visitor: "me", start: 40 * minute, items: "A B"})...)
	anonymous := fmt.Sprint(m.Recommend(Request{Type: Personal, Visitor: "nobody", Item: "B"}))
	if got := fmt.Sprint(m.Recommend(Request{Type: Personal, Visitor: "me", Item: "B"})); got == anonymous {
		t.Fatalf("before Forget the live session A B changes nothing: %s", got)
	}
	m.Forget("me")
	m.Forget("never seen")
	if got := fmt.Sprint(m.Recommend(Request{Type: Personal, Visitor: "me", Item: "B"})); got != anonymous {
		t.Errorf("after Forget: %s, want what a visitor without a session gets: %s", got, anonymous)
	}
	// As if the session A B had been someone else's.
	mustObserve(t, m, sess{visitor: "me", start: 41 * minute, items: "C"})
	other := mustModel(t, plain, append(knnSessions, sess{visitor: "someone else", start: 40 * minute, items: "A B"})...)
	mustObserve(t, other, sess{visitor: "me", start: 41 * minute, items: "C"})
	other.Refresh()
	m.Refresh()
	after := fmt.Sprint(m.Recommend(Request{Type: Personal, Visitor: "me", Item: "C"}))
	fresh := fmt.Sprint(other.Recommend(Request{Type: Personal, Visitor: "me", Item: "C"}))
	if after != fresh {
		t.Errorf("the next interaction continued the forgotten session: %s, want %s", after, fresh)
	}
}
