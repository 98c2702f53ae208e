package event

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// stored is an event as the collector writes it to the hits topic: every
// server field set, nested properties, escapes and non-ASCII text.
func stored() *Event {
	at := time.Date(2026, 3, 1, 9, 30, 0, 616_000_000, time.UTC)
	return &Event{
		Type: "track", Event: "Order Completed", MessageID: "m-1", AnonymousID: "a-1", UserID: "u-1",
		Timestamp: at, SentAt: at.Add(time.Second), ReceivedAt: at.Add(2 * time.Second),
		Properties: map[string]any{
			"order_id": "o-1", "revenue": 120.5, "currency": "EUR", "coupon": nil, "gift": true,
			"products": []any{map[string]any{"product_id": "p\"1\\", "price": 60.0, "quantity": 2.0}, "x", 1e21},
			"note":     "caf\u00e9 \u2028 <b>&", "nested": map[string]any{"a": map[string]any{"b": []any{}}},
		},
		Traits:  map[string]any{"email": "a@b.example"},
		Context: map[string]any{"page": map[string]any{"url": "https://shop.example/p?q=1"}, "locale": "fr-FR"},
		SiteID:  "site-1", VisitorID: "v-1", IP: "192.0.2.0",
		UA:  &UA{Browser: "Chrome", Version: "126.0", OS: "Android", Device: "mobile"},
		Bot: true,
	}
}

func TestUnmarshalStored(t *testing.T) {
	for name, e := range map[string]*Event{"full": stored(), "empty": {}, "page": {Type: "page", Name: "Home", AnonymousID: "a"}} {
		data, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var std, fast Event
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatal(err)
		}
		if err := Unmarshal(data, &fast); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(std, fast) {
			t.Errorf("%s:\nUnmarshal     %+v\nencoding/json %+v", name, fast, std)
		}
	}
	// Outside the fast subset: encoding/json's answer, from a zero event.
	for _, in := range []string{
		`{"type":"page","TYPE":"track"}`,                    // a key matching only case-insensitively
		`{"type":"page","timestamp":"2026-03-01T9:30:00Z"}`, // not RFC 3339
		`{"type":"page","ua":{"browser":"x","Browser":"y"}}`,
	} {
		var std Event
		errStd := json.Unmarshal([]byte(in), &std)
		fast := Event{Name: "left over"}
		err := Unmarshal([]byte(in), &fast)
		if (err == nil) != (errStd == nil) || !reflect.DeepEqual(std, fast) {
			t.Errorf("%s: Unmarshal %+v, %v; encoding/json %+v, %v", in, fast, err, std, errStd)
		}
	}
	for _, bad := range []string{``, `[]`, `{"type":1}`, `{"type":"page"} x`, `{"ua":"x"}`, `{"bot":"yes"}`} {
		var e Event
		if err := Unmarshal([]byte(bad), &e); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzUnmarshal holds Unmarshal to encoding/json: both refuse an input, or
// both decode it to the same event.
func FuzzUnmarshal(f *testing.F) {
	data, _ := stored().AppendJSON(nil)
	f.Add(data)
	f.Add([]byte(`{"type":"identify","userId":"u","traits":{"n":-0.5e-3,"s":"\ud83d\ude00"},"ua":null,"bot":false}`))
	f.Add([]byte(`{"type":"page","receivedAt":null,"siteId":null,"ua":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var std, fast Event
		errStd := json.Unmarshal(data, &std)
		err := Unmarshal(data, &fast)
		if (err == nil) != (errStd == nil) {
			t.Fatalf("input %q: Unmarshal %v, encoding/json %v", data, err, errStd)
		}
		if err == nil && !reflect.DeepEqual(std, fast) {
			t.Fatalf("input %q:\nUnmarshal     %+v\nencoding/json %+v", data, fast, std)
		}
	})
}

// TestUnmarshalOwnsItsStrings: nothing decoded shares the record's bytes,
// which the Kafka client may reuse (the decoder reads them through an
// unsafe view).
func TestUnmarshalOwnsItsStrings(t *testing.T) {
	data, _ := stored().AppendJSON(nil)
	var e Event
	if err := Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	want, _ := e.AppendJSON(nil)
	for i := range data {
		data[i] = 'X'
	}
	if got, _ := e.AppendJSON(nil); string(got) != string(want) {
		t.Errorf("the event changed with the record's bytes:\n%s\nwas\n%s", got, want)
	}
}
