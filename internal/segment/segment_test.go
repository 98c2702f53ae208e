package segment

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/profile"
)

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		name string
		seg  Segment
		ok   bool
	}{
		{"interest and recency", Segment{ID: "shoe-lovers", Expr: `interest["shoes"] > 3 && days_since_last_order > 30`}, true},
		{"lifecycle", Segment{ID: "at_risk", Expr: `lifecycle in ["at_risk", "lapsed"]`}, true},
		{"traits", Segment{ID: "pro", Expr: `traits["plan"] == "pro"`}, true},
		{"not boolean", Segment{ID: "x", Expr: `orders + 1`}, false},
		{"unknown variable", Segment{ID: "x", Expr: `nosuchvar > 1`}, false},
		{"syntax", Segment{ID: "x", Expr: `orders >`}, false},
		{"empty", Segment{ID: "x", Expr: ``}, false},
		{"bad id", Segment{ID: "Has Space", Expr: `orders > 0`}, false},
		{"empty id", Segment{ID: "", Expr: `orders > 0`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.seg)
			if (err == nil) != tc.ok {
				t.Fatalf("Compile(%+v) = %v, want ok=%v", tc.seg, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Compile(%+v) = %v, want it to wrap ErrInvalid", tc.seg, err)
			}
		})
	}
}

func TestRegistryMatch(t *testing.T) {
	var r Registry
	for _, s := range []Segment{
		{ID: "customers", Expr: `orders > 0`},
		{ID: "shoes", Expr: `interest["shoes"] > 0.5`},
		{ID: "big", Expr: `revenue >= 100`},
	} {
		if err := r.Put(s); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	p := profile.New("p_1", "u:1")
	p.Apply(&event.Event{Type: event.TypeTrack, Event: "Product Viewed", MessageID: "m1", Timestamp: now,
		Properties: map[string]any{"product_id": "s1", "category": "Shoes"}})
	p.Apply(&event.Event{Type: event.TypeTrack, Event: "Order Completed", MessageID: "m2", Timestamp: now,
		Properties: map[string]any{"order_id": "o1", "revenue": 40.0}})
	got := r.Match(p.Vars(now, profile.RFMBreakpoints{}))
	if want := []string{"customers", "shoes"}; !slices.Equal(got, want) {
		t.Errorf("Match() = %v, want %v", got, want)
	}
	if !r.Delete("shoes") || r.Delete("shoes") {
		t.Errorf("Delete: want true then false")
	}
	if got := r.List(); len(got) != 2 || got[0].ID != "big" {
		t.Errorf("List() = %v, want big, customers", got)
	}
}

func TestDiff(t *testing.T) {
	entered, left := Diff([]string{"a", "b", "c"}, []string{"b", "c", "d"})
	if !slices.Equal(entered, []string{"d"}) || !slices.Equal(left, []string{"a"}) {
		t.Errorf("Diff = %v, %v; want [d], [a]", entered, left)
	}
}
