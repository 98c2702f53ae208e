package personalize

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/recommend"
)

// TestAppendRecommendations holds the hand-written answer, made of the
// catalog's encoded items, to the bytes json.Marshal writes of the same
// Recommendations.
func TestAppendRecommendations(t *testing.T) {
	items := []catalog.Item{
		{ID: "p1", Name: "Trail <2> & \"co\"", URL: "https://shop.example/p1?a=1&b=2", Image: "https://img.example/p1.jpg", Price: 49.5, Category: "shoes"},
		{ID: "p2\u2028\xff", Price: 1e21, Unavailable: true},
		{ID: ""},
		{ID: "unknown"}, // not in the catalog: its id alone
	}
	cat := new(catalog.Catalog)
	for _, it := range items[:2] { // "" and "unknown" are not in the catalog
		if err := cat.Import(it); err != nil {
			t.Fatal(err)
		}
	}
	cat.Put(catalog.Item{ID: "p1", Name: "learned, under the import"})
	for name, scored := range map[string][]recommend.Scored{
		"nil":   nil,
		"empty": {},
		"full": {
			{Item: "p1", Score: 0.7071067811865475, Reason: "similar"},
			{Item: "p2\u2028\xff", Score: 1e-7, Reason: "popular"},
			{Item: "", Score: 0, Reason: ""},
			{Item: "unknown", Score: 3, Reason: "personal \"<x>\""},
		},
	} {
		var recs []Recommendation
		if scored != nil {
			recs = []Recommendation{}
		}
		for i, sc := range scored {
			recs = append(recs, Recommendation{Item: items[i], Score: sc.Score, Reason: sc.Reason})
		}
		want, _ := json.Marshal(fiber.Map{"type": "personal", "items": recs})
		// A buffer from the pool holds an earlier answer: not part of this one.
		got, err := appendRecommendations(&answerBuf{body: []byte("stale")}, "personal", scored, cat)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: appendRecommendations = %s, %v\njson.Marshal          = %s", name, got, err, want)
		}
	}
	if _, err := appendRecommendations(new(answerBuf), "popular", []recommend.Scored{{Item: "p1", Score: math.NaN()}}, cat); err == nil {
		t.Error("a NaN score encodes without an error")
	}
}
