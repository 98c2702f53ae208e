package personalize

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/campaign"
)

// TestAppendDecision checks decide's answers are what json.Marshal writes
// of the maps decide answered with before it built them itself: no
// campaign, the holdout, and a campaign shown, with placements and
// contents that need escaping.
func TestAppendDecision(t *testing.T) {
	var reg campaign.Registry
	camps := []campaign.Campaign{
		{ID: "spring", Name: "Spring <sale> & more", Placement: "home", Content: map[string]any{
			"title": "Shoes \u2028 \"50%\" off", "n": 3.5, "tags": []any{"a", nil, true}, "html": "<b>x</b>"}},
		{ID: "bare", Placement: "side"},
	}
	for _, c := range camps {
		if err := reg.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, placement := range []string{"home", "side", "none", "a\"b<c>\xff\u2029é"} {
		for _, group := range []string{campaign.Treatment, campaign.Holdout} {
			dec := reg.Decide(placement, campaign.Visitor{ID: "v"}, time.Now())
			if dec.Campaign != nil {
				dec.Group = group // the draw's outcome, either way
			}
			var want fiber.Map
			switch {
			case dec.Campaign == nil:
				want = fiber.Map{"placement": placement, "campaign": nil}
			case dec.Group == campaign.Holdout:
				want = fiber.Map{"placement": placement, "campaign": nil, "group": campaign.Holdout}
			default:
				want = fiber.Map{"placement": placement, "group": dec.Group, "campaign": fiber.Map{
					"id": dec.Campaign.ID, "name": dec.Campaign.Name, "content": dec.Campaign.Content}}
			}
			wantJSON, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendDecision(nil, placement, dec); string(got) != string(wantJSON) {
				t.Errorf("placement %q group %s:\n got %s\nwant %s", placement, group, got, wantJSON)
			}
		}
	}
}
