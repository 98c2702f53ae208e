package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Events as a browser tag or a server library sends them.
const (
	pageJSON     = `{"type":"page","messageId":"m-page","anonymousId":"a1","name":"Home","properties":{"path":"/"}}`
	trackJSON    = `{"type":"track","messageId":"m-track","anonymousId":"a1","event":"Product Viewed","properties":{"product_id":"sku-1","price":19.99}}`
	identifyJSON = `{"type":"identify","messageId":"m-identify","anonymousId":"a1","userId":"u1","traits":{"email":"ada@example.com","name":"Ada"}}`
	aliasJSON    = `{"type":"alias","messageId":"m-alias","userId":"u1","previousId":"a1"}`
	invalidJSON  = `{"type":"track","messageId":"m-bad","anonymousId":"a1"}` // track without event
)

// batchOf returns a batch body holding events.
func batchOf(events ...string) string {
	return `{"writeKey":"wk","batch":[` + strings.Join(events, ",") + `]}`
}

// mustDecodeBatch decodes body and fails the test when it is not accepted.
func mustDecodeBatch(tb testing.TB, body string) *Batch {
	tb.Helper()
	b, err := DecodeBatch([]byte(body))
	if err != nil {
		tb.Fatalf("DecodeBatch(%q) = %v, want no error", clip(body), err)
	}
	return b
}

// rejectedIndexes returns the indexes of the rejected events of b.
func rejectedIndexes(b *Batch) []int {
	var idx []int
	for _, r := range b.Rejected {
		idx = append(idx, r.Index)
	}
	return idx
}

func TestDecodeBatch(t *testing.T) {
	many := func(n int) string {
		events := make([]string, n)
		for i := range events {
			events[i] = fmt.Sprintf(`{"type":"page","messageId":"m%d","anonymousId":"a1"}`, i)
		}
		return batchOf(events...)
	}
	seq := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	}
	props := func(p string) string { return `{"type":"page","anonymousId":"a1","properties":` + p + `}` }

	tests := []struct {
		name string
		body string
		// malformed is set when the whole body must be refused.
		malformed bool
		// accepted and rejected are the indexes of the events kept and refused.
		accepted, rejected []int
		// reason is a part of the rejection message of the first rejected event.
		reason string
	}{
		{name: "one page", body: batchOf(pageJSON), accepted: []int{0}},
		{name: "page, track, identify, alias", body: batchOf(pageJSON, trackJSON, identifyJSON, aliasJSON), accepted: []int{0, 1, 2, 3}},
		{name: "empty batch", body: `{"batch":[]}`},
		{name: "surrounding whitespace", body: " \n\t" + batchOf(pageJSON) + "\r\n ", accepted: []int{0}},
		{name: "unknown fields ignored", body: `{"batch":[` + pageJSON + `],"integrations":{"All":true},"extra":[1,2]}`, accepted: []int{0}},
		{name: "exactly the maximum of events", body: many(MaxBatchEvents), accepted: seq(MaxBatchEvents)},
		{name: "invalid event rejected, others kept", body: batchOf(pageJSON, invalidJSON, trackJSON), accepted: []int{0, 2}, rejected: []int{1}, reason: "event"},
		{name: "only invalid events", body: batchOf(invalidJSON, invalidJSON), rejected: []int{0, 1}, reason: "event"},
		{name: "event is a number", body: batchOf(`1`, pageJSON), accepted: []int{1}, rejected: []int{0}},
		{name: "event is a string", body: batchOf(`"page"`), rejected: []int{0}},
		{name: "event is null", body: batchOf(`null`, pageJSON), accepted: []int{1}, rejected: []int{0}},
		{name: "event is an array", body: batchOf(`[` + pageJSON + `]`), rejected: []int{0}},
		{name: "user id is a number", body: batchOf(`{"type":"page","anonymousId":"a1","userId":5}`, pageJSON), accepted: []int{1}, rejected: []int{0}, reason: "userId"},
		{name: "anonymous id is an object", body: batchOf(`{"type":"page","anonymousId":{"id":"a1"}}`), rejected: []int{0}, reason: "anonymousId"},
		{name: "type is a boolean", body: batchOf(`{"type":true,"anonymousId":"a1"}`), rejected: []int{0}, reason: "type"},
		{name: "timestamp is a word", body: batchOf(`{"type":"page","anonymousId":"a1","timestamp":"yesterday"}`), rejected: []int{0}, reason: "timestamp"},
		{name: "timestamp is not RFC 3339", body: batchOf(`{"type":"page","anonymousId":"a1","timestamp":"2024-01-01 10:00:00"}`), rejected: []int{0}, reason: "timestamp"},
		{name: "timestamp is a number", body: batchOf(`{"type":"page","anonymousId":"a1","timestamp":1718000000000}`), rejected: []int{0}, reason: "timestamp"},
		{name: "timestamp is null", body: batchOf(`{"type":"page","anonymousId":"a1","timestamp":null}`), accepted: []int{0}},
		{name: "properties is an array", body: batchOf(props(`[1,2]`)), rejected: []int{0}, reason: "properties"},
		{name: "properties is a string", body: batchOf(props(`"x"`)), rejected: []int{0}, reason: "properties"},
		{name: "context is a number", body: batchOf(`{"type":"page","anonymousId":"a1","context":5}`), rejected: []int{0}, reason: "context"},
		{name: "number too large for a float", body: batchOf(props(`{"n":1e400}`)), rejected: []int{0}, reason: "properties"},
		{name: "large numbers", body: batchOf(props(`{"n":12345678901234567890123,"m":-1.7976931348623157e308,"e":1e-400}`)), accepted: []int{0}},
		{name: "properties at the depth limit", body: batchOf(props(nested(MaxDepth-1, `"leaf"`))), accepted: []int{0}},
		{name: "properties deeper than the limit", body: batchOf(pageJSON, props(nested(MaxDepth+1, `1`))), accepted: []int{0}, rejected: []int{1}, reason: "properties"},
		{name: "traits nested very deep", body: batchOf(`{"type":"identify","userId":"u1","traits":` + nested(1000, `1`) + `}`), rejected: []int{0}, reason: "traits"},
		{name: "arrays deeper than the limit", body: batchOf(props(`{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`)), rejected: []int{0}, reason: "properties"},
		{name: "unicode", body: batchOf(`{"type":"track","anonymousId":"visiteur-é","event":"Commande passée ✓","properties":{"ville":"Zürich","emoji":"🛒","escaped":"\u00e9\ud83d\uded2"}}`), accepted: []int{0}},

		{name: "empty body", body: ``, malformed: true},
		{name: "blank body", body: " \n\t", malformed: true},
		{name: "truncated JSON", body: `{"batch":[` + pageJSON, malformed: true},
		{name: "trailing garbage", body: batchOf(pageJSON) + ` x`, malformed: true},
		{name: "two objects", body: batchOf(pageJSON) + batchOf(pageJSON), malformed: true},
		{name: "not JSON", body: `writeKey=wk&batch=1`, malformed: true},
		{name: "array", body: `[` + pageJSON + `]`, malformed: true},
		{name: "string", body: `"batch"`, malformed: true},
		{name: "number", body: `42`, malformed: true},
		{name: "null", body: `null`, malformed: true},
		{name: "no batch", body: `{"writeKey":"wk"}`, malformed: true},
		{name: "a single event", body: pageJSON, malformed: true},
		{name: "batch is null", body: `{"batch":null}`, malformed: true},
		{name: "batch is an object", body: `{"batch":{}}`, malformed: true},
		{name: "batch is a string", body: `{"batch":"[]"}`, malformed: true},
		{name: "write key is a number", body: `{"writeKey":5,"batch":[]}`, malformed: true},
		{name: "batch context is a string", body: `{"context":"x","batch":[` + pageJSON + `]}`, malformed: true},
		{name: "batch sentAt is a word", body: `{"sentAt":"now","batch":[` + pageJSON + `]}`, malformed: true},
		{name: "one event too many", body: many(MaxBatchEvents + 1), malformed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatch([]byte(tc.body))
			if tc.malformed {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("DecodeBatch(%q) = %v, want an error wrapping %v", clip(tc.body), err, ErrMalformed)
				}
				if b != nil {
					t.Errorf("DecodeBatch(%q) returned a batch with its error %v", clip(tc.body), err)
				}
				checkClientSafe(t, "DecodeBatch", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("DecodeBatch(%q) = %v, want no error", clip(tc.body), err)
			}
			if !slices.Equal(b.Index, tc.accepted) {
				t.Errorf("DecodeBatch(%q).Index = %v, want %v (rejected: %v)", clip(tc.body), b.Index, tc.accepted, b.Rejected)
			}
			if got := rejectedIndexes(b); !slices.Equal(got, tc.rejected) {
				t.Errorf("DecodeBatch(%q) rejected %v, want %v", clip(tc.body), b.Rejected, tc.rejected)
			}
			if len(b.Events) != len(b.Index) {
				t.Errorf("DecodeBatch(%q) = %d events and %d indexes, want as many", clip(tc.body), len(b.Events), len(b.Index))
			}
			for i, e := range b.Events {
				if err := e.Validate(); err != nil {
					t.Errorf("event %d: Validate() = %v after DecodeBatch accepted it", b.Index[i], err)
				}
			}
			for _, r := range b.Rejected {
				checkClientSafe(t, fmt.Sprintf("rejection of event %d", r.Index), r.Message)
			}
			if tc.reason != "" && len(b.Rejected) > 0 && !strings.Contains(b.Rejected[0].Message, tc.reason) {
				t.Errorf("DecodeBatch(%q).Rejected[0].Message = %q, want it to name %q", clip(tc.body), b.Rejected[0].Message, tc.reason)
			}
		})
	}
}

func TestDecodeBatchFields(t *testing.T) {
	body := `{"writeKey":"wk_123","sentAt":"2025-06-15T12:00:05Z","batch":[` +
		`{"type":"track","event":"Order Completed","messageId":"m1","anonymousId":"a1","userId":"u1",` +
		`"timestamp":"2025-06-15T12:00:00.250+02:00","properties":{"order_id":"o1","revenue":42.5,"currency":"EUR",` +
		`"products":[{"product_id":"p1","quantity":2,"price":10},{"product_id":"p2","quantity":1,"price":22.5}]},` +
		`"context":{"locale":"fr-FR","campaign":{"source":"newsletter"}}}]}`
	b := mustDecodeBatch(t, body)
	if b.WriteKey != "wk_123" {
		t.Errorf("DecodeBatch().WriteKey = %q, want %q", b.WriteKey, "wk_123")
	}
	if want := time.Date(2025, 6, 15, 12, 0, 5, 0, time.UTC); !b.SentAt.Equal(want) {
		t.Errorf("DecodeBatch().SentAt = %v, want %v", b.SentAt, want)
	}
	if len(b.Events) != 1 {
		t.Fatalf("DecodeBatch() = %d events, want 1 (rejected: %v)", len(b.Events), b.Rejected)
	}
	e := b.Events[0]
	want := &Event{
		Type: TypeTrack, Event: "Order Completed", MessageID: "m1", AnonymousID: "a1", UserID: "u1",
		Timestamp: time.Date(2025, 6, 15, 10, 0, 0, 250e6, time.UTC),
		SentAt:    time.Date(2025, 6, 15, 12, 0, 5, 0, time.UTC),
		Properties: map[string]any{"order_id": "o1", "revenue": 42.5, "currency": "EUR", "products": []any{
			map[string]any{"product_id": "p1", "quantity": 2.0, "price": 10.0},
			map[string]any{"product_id": "p2", "quantity": 1.0, "price": 22.5},
		}},
		Context: map[string]any{"locale": "fr-FR", "campaign": map[string]any{"source": "newsletter"}},
	}
	if !e.Timestamp.Equal(want.Timestamp) || !e.SentAt.Equal(want.SentAt) {
		t.Errorf("DecodeBatch() timestamp, sentAt = %v, %v, want %v, %v", e.Timestamp, e.SentAt, want.Timestamp, want.SentAt)
	}
	e2, want2 := *e, *want
	e2.Timestamp, e2.SentAt, want2.Timestamp, want2.SentAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(e2, want2) {
		t.Errorf("DecodeBatch() event = %+v, want %+v", e2, want2)
	}
}

func TestDecodeBatchContext(t *testing.T) {
	body := `{"batch":[` +
		`{"type":"page","anonymousId":"a1"},` +
		`{"type":"page","anonymousId":"a1","context":{"locale":"en-GB","page":{"url":"https://shop.example/cart"}}},` +
		`{"type":"page","anonymousId":"a1","context":{}}` +
		`],"context":{"locale":"fr-FR","library":{"name":"analytics-go","version":"3.0.0"},"page":{"url":"https://shop.example/"}}}`
	b := mustDecodeBatch(t, body)
	if len(b.Events) != 3 {
		t.Fatalf("DecodeBatch() = %d events, want 3 (rejected: %v)", len(b.Events), b.Rejected)
	}
	library := map[string]any{"name": "analytics-go", "version": "3.0.0"}
	want := []map[string]any{
		{"locale": "fr-FR", "library": library, "page": map[string]any{"url": "https://shop.example/"}},
		// The event's own keys win; the batch's fill in the rest.
		{"locale": "en-GB", "library": library, "page": map[string]any{"url": "https://shop.example/cart"}},
		{"locale": "fr-FR", "library": library, "page": map[string]any{"url": "https://shop.example/"}},
	}
	for i, e := range b.Events {
		if !reflect.DeepEqual(e.Context, want[i]) {
			t.Errorf("DecodeBatch() event %d context = %v, want %v", i, e.Context, want[i])
		}
	}

	// Filling one event's context leaves the others' alone.
	b.Events[0].Context["ip"] = "203.0.113.0"
	if _, ok := b.Events[2].Context["ip"]; ok {
		t.Errorf("setting a context key of event 0 set it in event 2: %v", b.Events[2].Context)
	}

	// Without a batch context, an event without one keeps none.
	b = mustDecodeBatch(t, batchOf(pageJSON))
	if b.Events[0].Context != nil {
		t.Errorf("DecodeBatch(%q) event context = %v, want nil", batchOf(pageJSON), b.Events[0].Context)
	}
}

// TestDecodeBatchContextValidated checks that a batch's context cannot
// smuggle into accepted events what Validate refuses in an event's own.
func TestDecodeBatchContextValidated(t *testing.T) {
	tests := []struct {
		name, context string
	}{
		{"deeper than the limit", `{"deep":` + nested(MaxDepth+1, `1`) + `}`},
		{"much deeper than the limit", `{"deep":` + nested(500, `1`) + `}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"context":` + tc.context + `,"batch":[` + pageJSON + `]}`
			b, err := DecodeBatch([]byte(body))
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) {
					t.Errorf("DecodeBatch(%q) = %v, want an error wrapping %v or %v", clip(body), err, ErrMalformed, ErrInvalid)
				}
				return // refusing the body is fine
			}
			for i, e := range b.Events {
				if err := e.Validate(); err != nil {
					t.Errorf("DecodeBatch(%q) accepted event %d, whose Validate() = %v", clip(body), b.Index[i], err)
				}
			}
		})
	}

	// An event near the size limit stays under it with the batch context,
	// or the body is refused.
	pad := strings.Repeat("x", MaxEventBytes-200)
	ev := `{"type":"page","anonymousId":"a1","properties":{"pad":"` + pad + `"}}`
	body := `{"context":{"big":"` + pad + `"},"batch":[` + ev + `]}`
	b, err := DecodeBatch([]byte(body))
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeBatch(%q) = %v, want an error wrapping %v", clip(body), err, ErrMalformed)
		}
		return
	}
	for i, e := range b.Events {
		enc, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) > MaxEventBytes {
			t.Errorf("DecodeBatch() accepted event %d of %d bytes with the batch context, over MaxEventBytes %d", b.Index[i], len(enc), MaxEventBytes)
		}
	}
}

func TestDecodeBatchSentAt(t *testing.T) {
	body := `{"sentAt":"2025-06-15T12:00:05Z","batch":[` +
		`{"type":"page","anonymousId":"a1","timestamp":"2025-06-15T12:00:00Z"},` +
		`{"type":"page","anonymousId":"a1","sentAt":"2025-06-15T11:59:00Z"}]}`
	b := mustDecodeBatch(t, body)
	if len(b.Events) != 2 {
		t.Fatalf("DecodeBatch() = %d events, want 2 (rejected: %v)", len(b.Events), b.Rejected)
	}
	for i, want := range []time.Time{
		time.Date(2025, 6, 15, 12, 0, 5, 0, time.UTC),  // inherited from the batch
		time.Date(2025, 6, 15, 11, 59, 0, 0, time.UTC), // its own
	} {
		if got := b.Events[i].SentAt; !got.Equal(want) {
			t.Errorf("DecodeBatch() event %d sentAt = %v, want %v", i, got, want)
		}
	}

	// Without a sentAt anywhere, events keep a zero one.
	b = mustDecodeBatch(t, batchOf(pageJSON))
	if !b.SentAt.IsZero() || !b.Events[0].SentAt.IsZero() {
		t.Errorf("DecodeBatch(%q) sentAt = %v, event sentAt = %v, want both zero", batchOf(pageJSON), b.SentAt, b.Events[0].SentAt)
	}
}

func TestDecodeBatchEventSize(t *testing.T) {
	// An event of exactly MaxEventBytes is accepted, one byte more is not.
	sized := func(n int) string {
		const head, tail = `{"type":"page","anonymousId":"a1","properties":{"pad":"`, `"}}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	at, over := sized(MaxEventBytes), sized(MaxEventBytes+1)
	if len(at) != MaxEventBytes || len(over) != MaxEventBytes+1 {
		t.Fatalf("sized() = %d, %d bytes, want %d, %d", len(at), len(over), MaxEventBytes, MaxEventBytes+1)
	}
	b := mustDecodeBatch(t, batchOf(pageJSON, over, at, trackJSON, sized(10*MaxEventBytes)))
	if want := []int{0, 2, 3}; !slices.Equal(b.Index, want) {
		t.Errorf("DecodeBatch() accepted %v, want %v", b.Index, want)
	}
	if want := []int{1, 4}; !slices.Equal(rejectedIndexes(b), want) {
		t.Fatalf("DecodeBatch() rejected %v, want %v", b.Rejected, want)
	}
	for _, r := range b.Rejected {
		if !strings.Contains(r.Message, fmt.Sprint(MaxEventBytes)) {
			t.Errorf("rejection of event %d: message %q, want it to give the limit %d", r.Index, r.Message, MaxEventBytes)
		}
		checkClientSafe(t, "rejection", r.Message)
	}
}

func TestDecodeBatchUTF8(t *testing.T) {
	// JSON strings may carry bytes that are not UTF-8, raw or as lone
	// surrogate escapes; whatever is accepted must be valid UTF-8.
	tests := []struct{ name, event string }{
		{"raw byte in anonymous id", "{\"type\":\"page\",\"anonymousId\":\"a\xff1\"}"},
		{"truncated sequence in event name", "{\"type\":\"track\",\"anonymousId\":\"a1\",\"event\":\"Order\xc3\"}"},
		{"lone surrogate in name", `{"type":"page","anonymousId":"a1","name":"\ud800"}`},
		{"raw byte in property key", "{\"type\":\"page\",\"anonymousId\":\"a1\",\"properties\":{\"k\xfe\":1}}"},
		{"raw byte in trait array", "{\"type\":\"identify\",\"userId\":\"u1\",\"traits\":{\"tags\":[\"ok\",\"\xed\xa0\x80\"]}}"},
		{"encoded surrogate half in context", "{\"type\":\"page\",\"anonymousId\":\"a1\",\"context\":{\"page\":{\"title\":\"\xed\xb2\x80\"}}}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := batchOf(tc.event)
			b := mustDecodeBatch(t, body)
			if len(b.Events)+len(b.Rejected) != 1 {
				t.Fatalf("DecodeBatch(%q) = %d events, %d rejected, want one in all", body, len(b.Events), len(b.Rejected))
			}
			for _, r := range b.Rejected {
				checkClientSafe(t, "rejection", r.Message)
			}
			for _, e := range b.Events {
				enc, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				// json.Marshal would replace bad bytes itself: look at the
				// decoded strings instead.
				walkStrings(e, func(s string) {
					if !utf8.ValidString(s) {
						t.Errorf("DecodeBatch(%q) accepted string %q, which is not valid UTF-8 (event %s)", body, s, enc)
					}
				})
			}
		})
	}
}

// walkStrings calls fn with every string of e a client sent: ids, names,
// and the keys and values of properties, traits and context.
func walkStrings(e *Event, fn func(string)) {
	for _, s := range []string{e.Type, e.Event, e.Name, e.MessageID, e.AnonymousID, e.UserID, e.PreviousID, e.GroupID} {
		fn(s)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			fn(x)
		case map[string]any:
			for k, vv := range x {
				fn(k)
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(e.Properties)
	walk(e.Traits)
	walk(e.Context)
}

func TestDecodeSingle(t *testing.T) {
	tests := []struct {
		name, body, typ string
		wantType        string
		wantKey         string
		wantErr         error // nil, ErrInvalid or ErrMalformed
	}{
		{name: "type from the path", body: `{"anonymousId":"a1","properties":{"path":"/"}}`, typ: TypePage, wantType: TypePage},
		{name: "type in body and path", body: `{"type":"track","event":"Signed Up","anonymousId":"a1"}`, typ: TypeTrack, wantType: TypeTrack},
		{name: "write key extracted", body: `{"writeKey":"wk_1","userId":"u1","traits":{"plan":"pro"}}`, typ: TypeIdentify, wantType: TypeIdentify, wantKey: "wk_1"},
		{name: "alias", body: `{"writeKey":"wk_1","userId":"u1","previousId":"a1"}`, typ: TypeAlias, wantType: TypeAlias, wantKey: "wk_1"},
		{name: "no write key", body: `{"anonymousId":"a1"}`, typ: TypePage, wantType: TypePage},

		{name: "type mismatch", body: `{"writeKey":"wk_1","type":"track","event":"x","anonymousId":"a1"}`, typ: TypePage, wantKey: "wk_1", wantErr: ErrInvalid},
		{name: "type in capitals", body: `{"type":"Page","anonymousId":"a1"}`, typ: TypePage, wantErr: ErrInvalid},
		{name: "invalid event keeps the write key", body: `{"writeKey":"wk_1","anonymousId":"a1"}`, typ: TypeTrack, wantKey: "wk_1", wantErr: ErrInvalid},
		{name: "no id", body: `{"writeKey":"wk_1"}`, typ: TypePage, wantKey: "wk_1", wantErr: ErrInvalid},
		{name: "too large", body: `{"writeKey":"wk_1","anonymousId":"a1","properties":{"pad":"` + strings.Repeat("x", MaxEventBytes) + `"}}`, typ: TypePage, wantKey: "wk_1", wantErr: ErrInvalid},
		{name: "too deep", body: `{"anonymousId":"a1","properties":` + nested(MaxDepth+1, `1`) + `}`, typ: TypePage, wantErr: ErrInvalid},
		{name: "empty", body: ``, typ: TypePage, wantErr: ErrMalformed},
		{name: "truncated", body: `{"anonymousId":"a1"`, typ: TypePage, wantErr: ErrMalformed},
		{name: "array", body: `[{"anonymousId":"a1"}]`, typ: TypePage, wantErr: ErrMalformed},
		{name: "user id is a number", body: `{"userId":5}`, typ: TypePage, wantErr: ErrMalformed},
		{name: "timestamp is a word", body: `{"anonymousId":"a1","timestamp":"yesterday"}`, typ: TypePage, wantErr: ErrMalformed},
		{name: "traits is an array", body: `{"userId":"u1","traits":[]}`, typ: TypeIdentify, wantErr: ErrMalformed},
		{name: "write key is a number", body: `{"writeKey":1,"anonymousId":"a1"}`, typ: TypePage, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, key, err := DecodeSingle([]byte(tc.body), tc.typ)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("DecodeSingle(%q, %q) = %v, want an error wrapping %v", clip(tc.body), tc.typ, err, tc.wantErr)
				}
				checkClientSafe(t, "DecodeSingle", err.Error())
				if tc.wantErr == ErrInvalid && key != tc.wantKey {
					t.Errorf("DecodeSingle(%q, %q) write key = %q, want %q", clip(tc.body), tc.typ, key, tc.wantKey)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeSingle(%q, %q) = %v, want no error", clip(tc.body), tc.typ, err)
			}
			if e.Type != tc.wantType {
				t.Errorf("DecodeSingle(%q, %q).Type = %q, want %q", clip(tc.body), tc.typ, e.Type, tc.wantType)
			}
			if key != tc.wantKey {
				t.Errorf("DecodeSingle(%q, %q) write key = %q, want %q", clip(tc.body), tc.typ, key, tc.wantKey)
			}
			if err := e.Validate(); err != nil {
				t.Errorf("DecodeSingle(%q, %q) event: Validate() = %v", clip(tc.body), tc.typ, err)
			}
		})
	}
}
