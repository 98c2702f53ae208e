package profile

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func TestInterestDecay(t *testing.T) {
	tests := []struct {
		name string
		adds []float64 // days of signals of weight 1
		at   float64   // day read
		want float64
	}{
		{"fresh", []float64{0}, 0, 1},
		{"one half-life", []float64{0}, 14, 0.5},
		{"two half-lives", []float64{0}, 28, 0.25},
		{"half a half-life", []float64{0}, 7, math.Sqrt2 / 2},
		{"two signals", []float64{0, 14}, 14, 1.5},
		{"late signal", []float64{14, 0}, 14, 1.5},
		{"late signal read later", []float64{14, 0}, 28, 0.75},
		{"read before the last update is not grown", []float64{0, 14}, 7, 1.5},
		{"forgotten under the minimum", []float64{0, 200}, 200, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in Interests
			for _, d := range tc.adds {
				in.add("shoes", 1, days(d), 10)
			}
			if got := in.Score("shoes", days(tc.at)); !near(got, tc.want) {
				t.Errorf("signals on days %v, Score(day %v) = %.12f, want %.12f", tc.adds, tc.at, got, tc.want)
			}
			if got := in.At(days(tc.at))["shoes"]; !near(got, tc.want) {
				t.Errorf("signals on days %v, At(day %v)[shoes] = %.12f, want %.12f", tc.adds, tc.at, got, tc.want)
			}
		})
	}
}

func TestInterestForgetsWeakScores(t *testing.T) {
	var in Interests
	in.add("old", 1, days(0), 10)
	in.add("new", 1, days(14*7), 10) // 2^-7 < 0.01
	if _, ok := in.Scores["old"]; ok {
		t.Errorf("a score decayed to %.4f is kept, want it forgotten under %v", math.Exp2(-7), minScore)
	}
}

func TestInterestHalfLifeSetting(t *testing.T) {
	defer func(h time.Duration) { HalfLife = h }(HalfLife)
	HalfLife = 7 * 24 * time.Hour
	var in Interests
	in.add("k", 2, days(0), 10)
	if got := in.Score("k", days(7)); !near(got, 1) {
		t.Errorf("HalfLife 7 days: weight 2 after 7 days = %v, want 1", got)
	}
	HalfLife = 0
	if got := in.Score("k", days(700)); got != 2 {
		t.Errorf("HalfLife 0 (no decay): score = %v, want 2", got)
	}
}

func TestInterestCap(t *testing.T) {
	var in Interests
	for i := range 5 {
		in.add(fmt.Sprint("k", i), float64(10+i), days(0), 5)
	}
	in.add("new", 1, days(0), 5)
	if len(in.Scores) != 5 {
		t.Fatalf("len(Scores) = %d, want the cap 5", len(in.Scores))
	}
	if _, ok := in.Scores["new"]; !ok {
		t.Errorf("the key just updated was evicted")
	}
	if _, ok := in.Scores["k0"]; ok {
		t.Errorf("the lowest other key k0 was kept: %v", in.Scores)
	}
	top := in.Top(2, days(0))
	if want := []Scored{{"k4", 14}, {"k3", 13}}; !slices.Equal(top, want) {
		t.Errorf("Top(2) = %v, want %v", top, want)
	}
	if got := in.Top(100, days(14)); len(got) != 5 || !near(got[0].Score, 7) {
		t.Errorf("Top(100, +14 days) = %v, want all 5, k4 at 7", got)
	}
}

func TestInterestsFromEvents(t *testing.T) {
	p := New("p_1", "a:a1")
	applyAll(t, p,
		eTrack(EventProductViewed, days(0), eProduct("sku1", " Shoes ", 50, 1)),
		eTrack(EventProductAdded, days(0), eProduct("sku1", "shoes", 50, 1)),
		eTrack(EventProductClicked, days(0), eProduct("sku2", "Hats", 10, 1)),
		eTrack(EventProductListViewed, days(0), map[string]any{"category": "Socks"}),
		eOrder("o1", days(0), nil, eProduct("sku3", "shoes", 80, 1)),
	)
	page := ePage(days(0))
	page.Properties = map[string]any{"category": "socks"}
	applyAll(t, p, page)
	wantCat := map[string]float64{
		"shoes": WeightViewed + WeightAdded + WeightBought,
		"hats":  WeightClicked,
		"socks": 2 * WeightListViewed,
	}
	wantProd := map[string]float64{"sku1": WeightViewed + WeightAdded, "sku2": WeightClicked, "sku3": WeightBought}
	for k, want := range wantCat {
		if got := p.CategoryInterest.Score(k, days(0)); !near(got, want) {
			t.Errorf("category %q = %v, want %v", k, got, want)
		}
	}
	for k, want := range wantProd {
		if got := p.ProductInterest.Score(k, days(0)); !near(got, want) {
			t.Errorf("product %q = %v, want %v", k, got, want)
		}
	}
	if len(p.CategoryInterest.Scores) != len(wantCat) || len(p.ProductInterest.Scores) != len(wantProd) {
		t.Errorf("categories %v, products %v; want %v, %v", p.CategoryInterest.Scores, p.ProductInterest.Scores, wantCat, wantProd)
	}
}

func TestInterestBoundsFromEvents(t *testing.T) {
	p := New("p_1", "a:a1")
	for i := range 200 {
		applyAll(t, p, eTrack(EventProductViewed, mins(i), eProduct(fmt.Sprint("p", i), fmt.Sprint("c", i), 1, 1)))
	}
	if len(p.ProductInterest.Scores) != ProductInterestCap || len(p.CategoryInterest.Scores) != CategoryInterestCap {
		t.Errorf("200 products of 200 categories: %d products, %d categories kept; want %d, %d",
			len(p.ProductInterest.Scores), len(p.CategoryInterest.Scores), ProductInterestCap, CategoryInterestCap)
	}
	if _, ok := p.ProductInterest.Scores["p199"]; !ok {
		t.Errorf("the latest product is not kept")
	}
}

func TestRecentItems(t *testing.T) {
	tests := []struct {
		name  string
		views []recentView
		want  []string
	}{
		{"most recent first", []recentView{{"a", 0}, {"b", 1}, {"c", 2}}, []string{"c", "b", "a"}},
		{"viewed again moves to the front", []recentView{{"a", 0}, {"b", 1}, {"a", 2}}, []string{"a", "b"}},
		{"late view placed by time", []recentView{{"a", 0}, {"c", 2}, {"b", 1}}, []string{"c", "b", "a"}},
		{"late view of a product seen since", []recentView{{"a", 5}, {"b", 6}, {"a", 1}}, []string{"b", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New("p_1", "a:a1")
			for _, v := range tc.views {
				applyAll(t, p, eTrack(EventProductViewed, mins(v.m), map[string]any{"product_id": v.id}))
			}
			if got := p.RecentProductIDs(); !slices.Equal(got, tc.want) {
				t.Errorf("RecentProductIDs() = %v, want %v", got, tc.want)
			}
		})
	}

	p := New("p_1", "a:a1")
	for i := range 3 * RecentItemsCap {
		applyAll(t, p, eTrack(EventProductViewed, mins(i), map[string]any{"product_id": float64(i)}))
	}
	got := p.RecentProductIDs()
	if len(got) != RecentItemsCap || got[0] != fmt.Sprint(3*RecentItemsCap-1) {
		t.Errorf("after %d views: RecentProductIDs() = %v, want %d, newest (numeric id) first", 3*RecentItemsCap, got, RecentItemsCap)
	}
	applyAll(t, p, eTrack(EventProductViewed, mins(-5), map[string]any{"product_id": "ancient"}))
	if slices.Contains(p.RecentProductIDs(), "ancient") {
		t.Errorf("a view older than every recent item entered a full list")
	}
}

// recentView is a view of product id at minute m.
type recentView struct {
	id string
	m  int
}
