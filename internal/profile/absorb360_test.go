package profile

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

func TestAbsorbOrders(t *testing.T) {
	shared := eOrder("o-shared", days(5), map[string]any{"revenue": 40.0, "currency": "EUR"}, eProduct("s", "", 40, 1))
	tests := []struct {
		name        string
		known, anon []*event.Event
		count       int64
		revenue     float64
	}{
		{"distinct orders", []*event.Event{eOrder("k1", days(10), map[string]any{"revenue": 10.0})},
			[]*event.Event{eOrder("a1", days(0), map[string]any{"revenue": 5.0})}, 2, 15},
		{"an order seen by both", []*event.Event{shared, eOrder("k1", days(10), map[string]any{"revenue": 10.0})},
			[]*event.Event{eOrder("a1", days(0), map[string]any{"revenue": 5.0}), sameOrder(shared)}, 3, 55},
		{"the same message seen by both", []*event.Event{shared}, []*event.Event{shared}, 1, 40},
		{"orders without ids both count", []*event.Event{eOrder("", days(1), map[string]any{"revenue": 1.0})},
			[]*event.Event{eOrder("", days(1), map[string]any{"revenue": 1.0})}, 2, 2},
		{"into a prospect", nil, []*event.Event{shared}, 1, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
			applyAll(t, known, tc.known...)
			applyAll(t, anon, tc.anon...)
			known.Absorb(anon)
			o := known.Orders
			if o.Count != tc.count || !near(o.Revenue, tc.revenue) {
				t.Errorf("Absorb(): %d orders, revenue %v; want %d, %v", o.Count, o.Revenue, tc.count, tc.revenue)
			}
			// Every order of either is now known.
			for _, e := range slices.Concat(tc.known, tc.anon) {
				if id := str(e.Properties, "order_id"); id != "" && !o.has(id) {
					t.Errorf("Absorb(): order %q not remembered", id)
				}
			}
			for i := 1; i < len(o.Recent); i++ {
				if o.Recent[i].At.Before(o.Recent[i-1].At) {
					t.Errorf("Absorb(): recent orders out of order: %v", o.Recent)
				}
			}
		})
	}
}

// sameOrder returns a second send of order e: another message id, the
// same order id.
func sameOrder(e *event.Event) *event.Event {
	c := *e
	c.MessageID = nextID()
	return &c
}

func TestAbsorb360(t *testing.T) {
	known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")

	// The anonymous device: came from an email, viewed and carted shoes
	// before logging in, on a phone.
	land := ePage(days(0))
	land.Context = map[string]any{"campaign": map[string]any{"source": "news", "medium": "email"}}
	land.UA = &event.UA{Device: "mobile", Browser: "Safari", OS: "iOS"}
	view := eTrack(EventProductViewed, days(0).Add(mins(1).Sub(epoch)), eProduct("shoe1", "shoes", 80, 1))
	applyAll(t, anon, land, view,
		eTrack(EventProductAdded, days(0).Add(mins(2).Sub(epoch)), eProduct("shoe1", "shoes", 80, 1)))

	// The known profile: first came from search two weeks before, bought
	// a hat, and the retry of the device's product view reached it too.
	search := ePage(days(-14))
	search.Context = map[string]any{"page": map[string]any{"referrer": "https://www.google.com/", "url": "https://shop.example/"}}
	search.UA = &event.UA{Device: "desktop", Browser: "Firefox", OS: "Linux"}
	applyAll(t, known, search,
		eTrack(EventProductViewed, days(-14), eProduct("hat1", "hats", 20, 1)),
		eOrder("o1", days(-14), map[string]any{"revenue": 20.0}, eProduct("hat1", "hats", 20, 1)),
		view)

	if !known.Absorb(anon) {
		t.Fatal("Absorb() = false")
	}
	if known.FirstTouch.Channel != ChannelSearch || known.LastTouch.Channel != ChannelEmail {
		t.Errorf("touches: first %q, last %q; want search, email", known.FirstTouch.Channel, known.LastTouch.Channel)
	}
	if known.Device.Type != "mobile" {
		t.Errorf("device %+v, want the one seen last (mobile)", known.Device)
	}
	if known.ProductViews != 2 {
		t.Errorf("product views %d, want 2 (the retry counted once)", known.ProductViews)
	}
	if known.Sessions.Count != 2 {
		t.Errorf("sessions %d, want 2", known.Sessions.Count)
	}
	if got := known.RecentProductIDs(); !slices.Equal(got, []string{"shoe1", "hat1"}) {
		t.Errorf("recent items %v, want [shoe1 hat1]", got)
	}
	if len(known.Cart.Lines) != 1 || known.Cart.Lines[0].ProductID != "shoe1" || known.Cart.Value != 80 {
		t.Errorf("cart %+v, want the device's shoe", known.Cart)
	}
	// Interests: decayed to a common time and added. The retried view is
	// in both, so counted twice; hats decayed two weeks.
	now := days(0).Add(mins(2).Sub(epoch))
	wantShoes := 2*WeightViewed*decay(time.Minute) + WeightAdded
	if got := known.CategoryInterest.Score("shoes", now); !near(got, wantShoes) {
		t.Errorf("interest in shoes %v, want %v", got, wantShoes)
	}
	wantHats := (WeightViewed + WeightBought) * decay(now.Sub(days(-14)))
	if got := known.CategoryInterest.Score("hats", now); !near(got, wantHats) {
		t.Errorf("interest in hats %v, want %v", got, wantHats)
	}
	if known.FunnelStage() != FunnelCustomer {
		t.Errorf("funnel %q, want customer", known.FunnelStage())
	}

	// The result survives a round trip through JSON.
	data, err := json.Marshal(known)
	if err != nil {
		t.Fatal(err)
	}
	var back Profile
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if string(again) != string(data) {
		t.Errorf("JSON round trip changed the profile:\n got %s\nwant %s", again, data)
	}
	// Scores are stored to 6 significant digits.
	got, want := back.Vars(now, RFMBreakpoints{}), known.Vars(now, RFMBreakpoints{})
	for k := range want {
		g, w := got[k], want[k]
		if gm, ok := g.(map[string]float64); ok {
			wm := w.(map[string]float64)
			for kk := range wm {
				if math.Abs(gm[kk]-wm[kk]) > 1e-5*wm[kk] {
					t.Errorf("Vars()[%q][%q] = %v after a JSON round trip, want %v", k, kk, gm[kk], wm[kk])
				}
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("Vars()[%q] = %v after a JSON round trip, want %v", k, g, w)
		}
	}
}

func TestAbsorbCart(t *testing.T) {
	tests := []struct {
		name        string
		known, anon []*event.Event
		want        []string
	}{
		{"the more recent cart",
			[]*event.Event{eTrack(EventProductAdded, mins(0), eProduct("k", "", 1, 1))},
			[]*event.Event{eTrack(EventProductAdded, mins(5), eProduct("a", "", 1, 1))}, []string{"a"}},
		{"own cart more recent",
			[]*event.Event{eTrack(EventProductAdded, mins(9), eProduct("k", "", 1, 1))},
			[]*event.Event{eTrack(EventProductAdded, mins(5), eProduct("a", "", 1, 1))}, []string{"k"}},
		{"a cart bought on the other device",
			[]*event.Event{eOrder("o1", mins(10), nil)},
			[]*event.Event{eTrack(EventProductAdded, mins(5), eProduct("a", "", 1, 1))}, nil},
		{"no cart absorbed",
			[]*event.Event{eTrack(EventProductAdded, mins(0), eProduct("k", "", 1, 1))},
			[]*event.Event{ePage(mins(5))}, []string{"k"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known, anon := New("p_k", "u:alice"), New("p_a", "a:a1")
			applyAll(t, known, tc.known...)
			applyAll(t, anon, tc.anon...)
			known.Absorb(anon)
			var got []string
			for _, l := range known.Cart.Lines {
				got = append(got, l.ProductID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Absorb(): cart %v, want %v", got, tc.want)
			}
			// The absorbed profile's cart is not shared.
			if len(anon.Cart.Lines) > 0 && len(known.Cart.Lines) > 0 {
				known.Cart.Lines[0].Quantity = 99
				if anon.Cart.Lines[0].Quantity == 99 {
					t.Errorf("Absorb(): cart lines shared with the absorbed profile")
				}
			}
		})
	}
}

func TestAbsorbReactivation(t *testing.T) {
	// The known profile looks reactivated at day 100; the device ordered
	// at day 70, so the customer never lapsed.
	known := customer(t, 10, 0, 10, 20, 30, 40, 100)
	anon := New("p_a", "a:a1")
	applyAll(t, anon, eOrder("dev", days(70), nil))
	known.Absorb(anon)
	if got := known.Lifecycle(days(101)); got != LifecycleActive {
		t.Errorf("Lifecycle() after absorbing an order in the gap = %q, want active", got)
	}
}
