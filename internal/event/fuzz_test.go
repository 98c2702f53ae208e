package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzDecodeBatch feeds arbitrary bytes to DecodeBatch and checks that it
// never panics, that what it refuses it refuses with a client-safe error
// wrapping ErrMalformed, and that what it accepts is sound: every event
// validates, survives a JSON round trip still valid, and the accepted and
// rejected indexes together number each event of the request once. And
// DecodeBatchRaw decodes the body as DecodeBatch does (checkSameRaw).
//
// The seed corpus is in testdata/fuzz/FuzzDecodeBatch.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(batchOf(pageJSON, invalidJSON, trackJSON, identifyJSON, aliasJSON)))
	for _, tc := range rawCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameRaw(t, body)
		b, err := DecodeBatch(body)
		if err != nil {
			if b != nil {
				t.Errorf("DecodeBatch() returned a batch with its error %v", err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeBatch() = %v, want an error wrapping %v", err, ErrMalformed)
			}
			checkClientSafe(t, "DecodeBatch", err.Error())
			return
		}
		if len(b.Events) != len(b.Index) {
			t.Fatalf("DecodeBatch() = %d events and %d indexes, want as many", len(b.Events), len(b.Index))
		}
		n := len(b.Index) + len(b.Rejected)
		if n > MaxBatchEvents {
			t.Errorf("DecodeBatch() = %d events and rejections, over MaxBatchEvents %d", n, MaxBatchEvents)
		}
		// Index and Rejected, each in request order, together hold every
		// position 0..n-1 exactly once.
		rejected := rejectedIndexes(b)
		if !slices.IsSorted(b.Index) || !slices.IsSorted(rejected) {
			t.Errorf("DecodeBatch() indexes %v and rejections %v, want each in request order", b.Index, rejected)
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(b.Index), rejected...)))
		for i, idx := range all {
			if idx != i {
				t.Fatalf("DecodeBatch() indexes %v and rejections %v do not number 0..%d once each", b.Index, rejected, n-1)
			}
		}
		for _, r := range b.Rejected {
			checkClientSafe(t, "rejection", r.Message)
		}
		for i, e := range b.Events {
			checkAccepted(t, b.Index[i], e)
		}
	})
}

// FuzzDecodeSingle feeds arbitrary bytes to DecodeSingle for each type of
// endpoint and checks that DecodeSingleRaw decodes them alike
// (checkSameSingle), that it never panics, that its errors are client-safe
// and wrap ErrMalformed or ErrInvalid, and that an accepted event has the
// endpoint's type, validates and survives a JSON round trip.
func FuzzDecodeSingle(f *testing.F) {
	for _, seed := range []struct{ body, typ string }{
		{`{"writeKey":"wk","anonymousId":"a1","properties":{"path":"/"}}`, TypePage},
		{`{"writeKey":"wk","type":"track","event":"Product Added","anonymousId":"a1","properties":{"product_id":"p1","price":9.5}}`, TypeTrack},
		{`{"userId":"u1","traits":{"email":"ada@example.com","age":36}}`, TypeIdentify},
		{`{"userId":"u1","previousId":"a1","timestamp":"2025-06-15T12:00:00Z"}`, TypeAlias},
		{`{"type":"page","anonymousId":"a1"}`, TypeTrack},
		{`{"userId":5}`, TypePage},
		{``, TypePage},
	} {
		f.Add([]byte(seed.body), seed.typ)
	}
	for _, tc := range singleCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body), tc.typ)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, typ string) {
		// The type comes from the route, never from the client.
		if !slices.Contains([]string{TypePage, TypeTrack, TypeIdentify, TypeAlias, TypeScreen, TypeGroup}, typ) {
			typ = TypePage
		}
		checkSameSingle(t, body, typ)
		e, _, err := DecodeSingle(body, typ)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) {
				t.Errorf("DecodeSingle(%q) = %v, want an error wrapping %v or %v", typ, err, ErrMalformed, ErrInvalid)
			}
			checkClientSafe(t, "DecodeSingle", err.Error())
			return
		}
		if e.Type != typ {
			t.Errorf("DecodeSingle(%q).Type = %q, want the endpoint's", typ, e.Type)
		}
		checkAccepted(t, 0, e)
	})
}

// checkAccepted checks an event a decoder accepted: it validates, and its
// JSON encoding decodes to an event that validates and encodes the same.
func checkAccepted(t *testing.T, idx int, e *Event) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Errorf("event %d was accepted, but Validate() = %v", idx, err)
	}
	enc, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("event %d: json.Marshal() = %v", idx, err)
	}
	var again Event
	if err := json.Unmarshal(enc, &again); err != nil {
		t.Fatalf("event %d: json.Unmarshal(%q) of its encoding = %v", idx, enc, err)
	}
	if err := again.Validate(); err != nil {
		t.Errorf("event %d: Validate() after a JSON round trip of %q = %v", idx, enc, err)
	}
	enc2, err := json.Marshal(&again)
	if err != nil {
		t.Fatalf("event %d: json.Marshal() after a round trip = %v", idx, err)
	}
	if !bytes.Equal(enc, enc2) {
		t.Errorf("event %d: encoding changed in a JSON round trip:\n%s\n%s", idx, enc, enc2)
	}
}
