package profile

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// busyProfile returns a profile after n hits of a heavy shopper: pages,
// product views over 500 products in 40 categories, carts, orders and
// campaigns, spread over months, with UUID-sized message ids and
// millisecond timestamps, that ends with a full cart.
func busyProfile(tb testing.TB, n int) *Profile {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	p := New("p_busy", "u:busy")
	at := epoch
	for i := range n {
		at = at.Add(time.Duration(r.IntN(40))*time.Minute + time.Duration(r.IntN(1000))*time.Millisecond)
		prod := eProduct(fmt.Sprintf("product-%04d", r.IntN(500)), fmt.Sprintf("category %02d", r.IntN(40)), float64(r.IntN(20000))/100, 1+r.IntN(3))
		prod["name"] = "A product with a fairly long display name, as shops have"
		var e *event.Event
		switch k := r.IntN(100); {
		case k < 40:
			e = ePage(at)
		case k < 80:
			e = eTrack(EventProductViewed, at, prod)
		case k < 90:
			e = eTrack(EventProductAdded, at, prod)
		case k < 94:
			e = eTrack(EventProductRemoved, at, prod)
		case k < 96:
			e = eOrder(fmt.Sprintf("order-%08d-%d", i, r.Int()), at, map[string]any{"currency": "EUR"}, prod, eProduct(fmt.Sprint("acc-", r.IntN(300)), "accessories", 9.99, 1))
		default:
			e = eTrack("Products Searched", at, map[string]any{"query": "shoes"})
		}
		e.MessageID = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48))
		e.UA = &event.UA{Browser: "Chrome", Version: "126.0", OS: "Android", Device: "mobile"}
		e.Context = map[string]any{
			"locale":   "en-GB",
			"page":     map[string]any{"url": "https://shop.example/p", "referrer": "https://www.google.com/"},
			"campaign": map[string]any{"source": "newsletter", "medium": "email", "name": fmt.Sprint("campaign-", i/500)},
		}
		e.SiteID = "site-1"
		applyAll(tb, p, e)
	}
	// And a full cart to end with.
	for i := range CartCap {
		prod := eProduct(fmt.Sprintf("product-%04d", 600+i), "category 01", 19.99, 1)
		prod["name"] = "A product with a fairly long display name, as shops have"
		applyAll(tb, p, eTrack(EventProductAdded, at.Add(time.Duration(i)*time.Second), prod))
	}
	return p
}

func TestBusyProfileSize(t *testing.T) {
	p := busyProfile(t, 10000)
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 16 << 10
	if len(data) >= limit {
		t.Errorf("a profile after 10000 hits encodes to %d bytes, want under %d", len(data), limit)
	}
	t.Logf("a profile after 10000 hits: %d bytes of JSON; %d sessions, %d orders, %d products bought, %d cart lines",
		len(data), p.Sessions.Count, p.Orders.Count, len(p.Orders.Bought), len(p.Cart.Lines))
	var back Profile
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("decode the profile: %v", err)
	}
	if again, _ := json.Marshal(&back); string(again) != string(data) {
		t.Errorf("JSON round trip changed the profile")
	}
}

func BenchmarkApplyProductViewed(b *testing.B) {
	p := busyProfile(b, 2000)
	at := p.LastSeen
	events := make([]*event.Event, 1024)
	for i := range events {
		e := eTrack(EventProductViewed, time.Time{}, eProduct(fmt.Sprintf("product-%04d", i%300), fmt.Sprintf("category %02d", i%40), 19.99, 1))
		e.Context = map[string]any{"page": map[string]any{"url": "https://shop.example/p", "referrer": "https://shop.example/"}}
		e.UA = &event.UA{Browser: "Chrome", OS: "Android", Device: "mobile"}
		events[i] = e
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := events[i%len(events)]
		at = at.Add(time.Minute)
		e.Timestamp = at
		e.MessageID = fmt.Sprint("bench-", i)
		if !p.Apply(e) {
			b.Fatal("Apply() = false")
		}
		i++
	}
}
