package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// checkSameSingle fails the test unless DecodeSingleRaw decodes body for
// endpoint typ as DecodeSingle does: the same write key and error, or the
// same event once its text is decoded (DecodeRaw), whose JSON decodes to
// what DecodeSingle's event encodes to; the text it keeps is what rawText
// says.
func checkSameSingle(t *testing.T, body []byte, typ string) {
	t.Helper()
	want, wantKey, wantErr := DecodeSingle(body, typ)
	got, key, err := DecodeSingleRaw(body, typ)
	if key != wantKey || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("DecodeSingleRaw(%q, %s) = key %q, %v; want DecodeSingle's %q, %v", clip(string(body)), typ, key, err, wantKey, wantErr)
	}
	if err != nil {
		if got != nil {
			t.Fatalf("DecodeSingleRaw(%q) returned an event with its error", clip(string(body)))
		}
		return
	}
	for _, text := range []string{got.raw.properties, got.raw.traits, got.raw.context} {
		checkText(t, body, text)
	}
	enc, err := got.AppendJSON(nil)
	if err != nil {
		t.Fatalf("DecodeSingleRaw(%q): AppendJSON() = %v", clip(string(body)), err)
	}
	wantEnc, err := want.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var a, b Event
	if err := json.Unmarshal(wantEnc, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &b); err != nil {
		t.Fatalf("DecodeSingleRaw(%q) encodes to JSON that does not decode: %s: %v", body, enc, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("DecodeSingleRaw(%q) encodes to\n%s\nwant\n%s", body, enc, wantEnc)
	}
	got.DecodeRaw()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeSingleRaw(%q), text decoded = %+v\nwant (DecodeSingle) %+v", body, got, want)
	}
}

// singleCases are bodies of the single-event endpoints: taken whole by the
// fast reader, or handed to DecodeSingle.
var singleCases = []struct{ typ, body string }{
	{"page", `{"writeKey":"k","type":"page","messageId":"m1","anonymousId":"a1","name":"Home","properties":{"path":"/"},"context":{"page":{"url":"https://shop.example/"}}}`},
	{"page", `{"messageId":"m1","anonymousId":"a1","writeKey":"k"}`}, // type from the endpoint
	{"track", ` {"writeKey":"k","event":"Product Viewed","anonymousId":"a1","properties":{"product_id":"sku-1","price":19.99}} `},
	{"identify", `{"writeKey":"k","userId":"u1","traits":{"email":"ada@example.com"}}`},
	{"alias", `{"writeKey":"k","userId":"u1","previousId":"a1"}`},
	{"track", `{"writeKey":"k","type":"page","anonymousId":"a1"}`},                                                  // type does not match
	{"track", `{"writeKey":"k","anonymousId":"a1"}`},                                                                // no event name
	{"page", `{"writeKey":"k","WriteKey":"other","anonymousId":"a1"}`},                                              // folds: encoding/json decides
	{"page", `{"writeKey":"k","writeKey":"again","anonymousId":"a1"}`},                                              // twice: the last wins
	{"page", `{"writeKey":7,"anonymousId":"a1"}`},                                                                   // malformed
	{"page", `{"writeKey":"k","anonymousId":"a1","receivedAt":"2020-01-01T00:00:00Z","ip":"1.2.3.4","siteId":"x"}`}, // server fields dropped
	{"page", `{"writeKey":"k","anonymousId":"a1","properties":{ "spaced" : 1 }}`},                                   // text not compact: maps
	{"page", `{"writeKey":"k","anonymousId":"a1"} x`},
	{"page", `{"writeKey":null,"anonymousId":"a1"}`},
	{"page", `[]`},
	{"page", ``},
	{"page", `{"writeKey":"k","anonymousId":"a1","properties":{"big":"` + strings.Repeat("x", MaxEventBytes) + `"}}`}, // too large
}

func TestDecodeSingleRaw(t *testing.T) {
	for _, tc := range singleCases {
		checkSameSingle(t, []byte(tc.body), tc.typ)
	}
	// A batch's events still skip a "writeKey" member.
	checkSameRaw(t, []byte(`{"writeKey":"k","batch":[{"type":"page","anonymousId":"a1","writeKey":"ignored"}]}`))
	// The fast reader takes a plain page whole: its properties stay text.
	e, key, err := DecodeSingleRaw([]byte(singleCases[0].body), "page")
	if err != nil || key != "k" || e.raw.properties != `{"path":"/"}` {
		t.Errorf("DecodeSingleRaw(page) = %+v, %q, %v; want its properties kept as text", e, key, err)
	}
}

// BenchmarkDecodeSingle: a page hit as the single-event endpoint takes it,
// decoded into maps (DecodeSingle) and kept as text (DecodeSingleRaw).
func BenchmarkDecodeSingle(b *testing.B) {
	body := []byte(`{"writeKey":"demo","type":"page","messageId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","anonymousId":"5f2b8c1e-3a4d-4e6f-9b7a-1c2d3e4f5a6b","name":"Running shoes","properties":{"path":"/shoes/running","referrer":"https://shop.example/","title":"Running shoes | Shop","url":"https://shop.example/shoes/running"},"context":{"page":{"path":"/shoes/running","url":"https://shop.example/shoes/running"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","locale":"en-US","library":{"name":"ecrm.js","version":"0.1.0"}},"timestamp":"2026-11-22T23:40:39.123Z","sentAt":"2026-11-22T23:40:39.200Z"}`)
	for _, dec := range []struct {
		name string
		f    func([]byte, string) (*Event, string, error)
	}{{"maps", DecodeSingle}, {"raw", DecodeSingleRaw}} {
		b.Run(dec.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := dec.f(body, TypePage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
