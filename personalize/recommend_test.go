package personalize

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/catalog"
)

// TestAppendRecommendations holds the hand-written answer to the bytes
// json.Marshal writes of the same map.
func TestAppendRecommendations(t *testing.T) {
	for name, recs := range map[string][]Recommendation{
		"nil":   nil,
		"empty": {},
		"full": {
			{Item: catalog.Item{ID: "p1", Name: "Trail <2> & \"co\"", URL: "https://shop.example/p1?a=1&b=2", Image: "https://img.example/p1.jpg", Price: 49.5, Category: "shoes"}, Score: 0.7071067811865475, Reason: "similar"},
			{Item: catalog.Item{ID: "p2\u2028\xff", Price: 1e21, Unavailable: true}, Score: 1e-7, Reason: "popular"},
			{Item: catalog.Item{ID: ""}, Score: 0, Reason: ""},
		},
	} {
		want, _ := json.Marshal(fiber.Map{"type": "personal", "items": recs})
		got, err := appendRecommendations([]byte("x"), "personal", recs)
		if err != nil || string(got[1:]) != string(want) {
			t.Errorf("%s: appendRecommendations = %s, %v\njson.Marshal          = %s", name, got[1:], err, want)
		}
	}
	if _, err := appendRecommendations(nil, "popular", []Recommendation{{Score: math.NaN()}}); err == nil {
		t.Error("a NaN score encodes without an error")
	}
}
