package profile

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// epoch is the time of the first hit in the tests of the 360° view.
var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// seq numbers the message ids of the events the helpers build.
var seq int

func nextID() string {
	seq++
	return fmt.Sprint("x", seq)
}

// ePage returns a page hit at t with a fresh message id.
func ePage(t time.Time) *event.Event {
	return &event.Event{Type: event.TypePage, MessageID: nextID(), AnonymousID: "a1", Timestamp: t}
}

// eTrack returns a track hit named name at t with properties props and a
// fresh message id.
func eTrack(name string, t time.Time, props map[string]any) *event.Event {
	return &event.Event{Type: event.TypeTrack, Event: name, MessageID: nextID(), AnonymousID: "a1", Timestamp: t, Properties: props}
}

// eProduct returns the properties of a product.
func eProduct(id, cat string, price float64, qty int) map[string]any {
	m := map[string]any{"product_id": id, "price": price, "quantity": float64(qty)}
	if cat != "" {
		m["category"] = cat
	}
	return m
}

// eOrder returns an Order Completed at t of order id with products.
func eOrder(id string, t time.Time, props map[string]any, products ...map[string]any) *event.Event {
	p := map[string]any{}
	for k, v := range props {
		p[k] = v
	}
	if id != "" {
		p["order_id"] = id
	}
	if len(products) > 0 {
		items := make([]any, len(products))
		for i, m := range products {
			items[i] = m
		}
		p["products"] = items
	}
	return eTrack(EventOrderCompleted, t, p)
}

// applyAll applies events to p and fails the test when one is refused.
func applyAll(tb testing.TB, p *Profile, events ...*event.Event) {
	tb.Helper()
	for _, e := range events {
		if !p.Apply(e) {
			tb.Fatalf("Apply(%s %q %q) = false, want true", e.Type, e.Event, e.MessageID)
		}
	}
}

// days returns epoch plus d days.
func days(d float64) time.Time { return epoch.Add(time.Duration(d * float64(24*time.Hour))) }

// mins returns epoch plus m minutes.
func mins(m int) time.Time { return epoch.Add(time.Duration(m) * time.Minute) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
