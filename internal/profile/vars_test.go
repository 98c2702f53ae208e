package profile

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/ecrm/ecrm/internal/event"
)

// varsKeys are the keys Vars documents.
var varsKeys = []string{
	"identified", "traits", "device", "browser", "os", "locale", "site",
	"channel", "source", "medium", "campaign", "last_channel", "last_source", "last_campaign",
	"events", "page_views", "product_views", "sessions", "in_session",
	"days_since_first_seen", "days_since_last_seen", "interest", "product_interest", "recent_items",
	"cart_value", "cart_items", "minutes_since_cart_update", "minutes_since_checkout",
	"orders", "revenue", "currency", "aov", "days_since_last_order", "days_since_first_order",
	"order_gap_days", "bought", "ltv", "predicted_ltv", "churn_risk",
	"lifecycle", "funnel_stage", "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "value_tier",
}

func TestVarsKeys(t *testing.T) {
	for _, p := range []*Profile{New("p_1", "a:a1"), busyProfile(t, 300)} {
		v := p.Vars(days(30), RFMBreakpoints{})
		got := slices.Sorted(maps.Keys(v))
		want := slices.Sorted(slices.Values(varsKeys))
		if !slices.Equal(got, want) {
			t.Errorf("Vars() keys = %v, want %v", got, want)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Errorf("Vars() does not encode to JSON: %v", err)
		}
	}
}

func TestVarsProspect(t *testing.T) {
	v := New("p_1", "a:a1").Vars(days(0), RFMBreakpoints{})
	for k, want := range map[string]any{
		"orders": 0, "days_since_last_order": -1.0, "days_since_first_seen": -1.0, "order_gap_days": -1.0,
		"lifecycle": LifecycleProspect, "funnel_stage": FunnelVisitor, "rfm_segment": "", "rfm_r": 0,
		"ltv": 0.0, "churn_risk": 0.0, "channel": "", "identified": false, "in_session": false,
		"minutes_since_cart_update": -1.0, "cart_items": 0,
	} {
		if v[k] != want {
			t.Errorf("Vars()[%q] = %#v, want %#v", k, v[k], want)
		}
	}
	if m, ok := v["interest"].(map[string]float64); !ok || m == nil || len(m) != 0 {
		t.Errorf("Vars()[interest] = %#v, want an empty map", v["interest"])
	}
	if s, ok := v["bought"].([]string); !ok || s == nil {
		t.Errorf("Vars()[bought] = %#v, want an empty slice", v["bought"])
	}
}

func TestVarsCustomer(t *testing.T) {
	p := New("p_1", "u:ada")
	id := &event.Event{Type: event.TypeIdentify, MessageID: "i1", UserID: "ada", Timestamp: days(0), Traits: map[string]any{"plan": "pro"}}
	land := ePage(days(0))
	land.Context = map[string]any{"campaign": map[string]any{"source": "google", "medium": "cpc", "name": "spring"}, "locale": "de-DE"}
	land.UA = &event.UA{Device: "mobile"}
	applyAll(t, p, id, land,
		eTrack(EventProductViewed, days(0), eProduct("s1", "Shoes", 50, 1)),
		eOrder("o1", days(0), map[string]any{"revenue": 100.0, "currency": "EUR"}, eProduct("s1", "shoes", 50, 2)),
		eOrder("o2", days(10), map[string]any{"revenue": 50.0}),
		eTrack(EventProductAdded, days(20), eProduct("h1", "hats", 15, 2)),
	)
	now := days(20).Add(10 * 60e9) // 10 minutes after the cart
	b := RFMBreakpoints{R: [4]float64{5, 10, 20, 40}, F: [4]float64{1, 1, 2, 3}, M: [4]float64{20, 50, 100, 200}}
	v := p.Vars(now, b)
	for k, want := range map[string]any{
		"identified": true, "device": "mobile", "locale": "de-DE", "channel": ChannelPaid, "source": "google", "campaign": "spring",
		"orders": 2, "revenue": 150.0, "currency": "EUR", "aov": 75.0, "order_gap_days": 10.0,
		"cart_value": 30.0, "cart_items": 2, "minutes_since_cart_update": 10.0,
		"lifecycle": LifecycleActive, "funnel_stage": FunnelRepeat,
		"rfm_r": 3, "rfm_f": 3, "rfm_m": 4, "rfm_segment": SegmentLoyal, "sessions": 3, "in_session": true, "product_views": 1,
	} {
		if v[k] != want {
			t.Errorf("Vars()[%q] = %#v, want %#v", k, v[k], want)
		}
	}
	if d := v["days_since_last_order"].(float64); !near(d, 10+10.0/(24*60)) {
		t.Errorf("Vars()[days_since_last_order] = %v, want 10 days 10 minutes", d)
	}
	if !near(v["ltv"].(float64), p.LTV(now)) || v["ltv"].(float64) <= 150 {
		t.Errorf("Vars()[ltv] = %v, want LTV() %v, above the revenue", v["ltv"], p.LTV(now))
	}
	interest := v["interest"].(map[string]float64)
	wantShoes := (WeightViewed + WeightBought) * decay(now.Sub(days(0)))
	wantHats := WeightAdded * decay(now.Sub(days(20)))
	if len(interest) != 2 || !near(interest["shoes"], wantShoes) || !near(interest["hats"], wantHats) {
		t.Errorf("Vars()[interest] = %v, want shoes %v, hats %v", interest, wantShoes, wantHats)
	}
	if !slices.Equal(v["bought"].([]string), []string{"s1"}) || !slices.Equal(v["recent_items"].([]string), []string{"s1"}) {
		t.Errorf("Vars() bought, recent items = %v, %v; want [s1], [s1]", v["bought"], v["recent_items"])
	}
	// Fresh copies: changing them changes nothing in the profile.
	interest["shoes"] = -1
	v["traits"].(map[string]any)["plan"] = "free"
	v["bought"].([]string)[0] = "x"
	if p.CategoryInterest.Score("shoes", now) < 0 || p.Traits["plan"] != "pro" || p.Orders.Bought[0] != "s1" {
		t.Errorf("changing Vars() changed the profile")
	}
}

// TestVarsIntoReused: a map VarsInto filled for one profile, filled again
// for another, holds what Vars returns for the second.
func TestVarsIntoReused(t *testing.T) {
	busy, prospect := busyProfile(t, 300), New("p_2", "a:a2")
	m := busy.VarsInto(map[string]any{}, days(30), RFMBreakpoints{})
	if !reflect.DeepEqual(m, busy.Vars(days(30), RFMBreakpoints{})) {
		t.Fatal("VarsInto into an empty map differs from Vars")
	}
	m = prospect.VarsInto(m, days(30), RFMBreakpoints{})
	if want := prospect.Vars(days(30), RFMBreakpoints{}); !reflect.DeepEqual(m, want) || len(m) != varsLen {
		t.Errorf("VarsInto reused = %v (%d variables)\nwant %v (%d)", m, len(m), want, varsLen)
	}
}
