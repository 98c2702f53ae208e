package event

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// checkSameRaw fails the test unless DecodeBatchRaw decodes body as
// DecodeBatch does: the same error, or the same batch once its events'
// text is decoded (DecodeRaw); the text it keeps is what rawText says;
// and each event encodes to JSON that decodes, with encoding/json and with
// Unmarshal, to the event DecodeBatch's encodes to.
func checkSameRaw(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := DecodeBatch(body)
	got, err := DecodeBatchRaw(body)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("DecodeBatchRaw(%q) = %v, want DecodeBatch's %v", clip(string(body)), err, wantErr)
	}
	if err != nil {
		return
	}
	encoded := make([][]byte, len(got.Events))
	for i, e := range got.Events {
		for _, text := range []string{e.raw.properties, e.raw.traits, e.raw.context} {
			checkText(t, body, text)
		}
		// What Validate says of the text is what it says of the maps.
		if err := e.Validate(); err != nil {
			t.Errorf("DecodeBatchRaw(%q) accepted event %d, whose Validate() = %v", clip(string(body)), got.Index[i], err)
		}
		enc, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatalf("DecodeBatchRaw(%q) event %d: AppendJSON() = %v", clip(string(body)), i, err)
		}
		encoded[i] = enc
	}
	for _, e := range got.Events {
		e.DecodeRaw()
		if e.raw != (rawText{}) {
			t.Fatalf("DecodeRaw() left text: %+v", e.raw)
		}
	}
	cmp := *got
	cmp.events, cmp.spareEvents, cmp.spareIndex, cmp.pooled = nil, nil, nil, false // DecodeBatch's are not pooled
	if !reflect.DeepEqual(&cmp, want) {
		t.Fatalf("DecodeBatchRaw(%q), text decoded =\n%s\nwant (DecodeBatch)\n%s", body, dumpBatch(got), dumpBatch(want))
	}
	for i, e := range want.Events {
		wantEnc, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(encoded[i]) {
			t.Fatalf("DecodeBatchRaw(%q) event %d encodes to JSON that is not valid: %s", body, i, encoded[i])
		}
		var a, b, c Event
		if err := json.Unmarshal(wantEnc, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(encoded[i], &b); err != nil {
			t.Fatalf("DecodeBatchRaw(%q) event %d: json.Unmarshal(%s) = %v", body, i, encoded[i], err)
		}
		if err := Unmarshal(encoded[i], &c); err != nil {
			t.Fatalf("DecodeBatchRaw(%q) event %d: Unmarshal(%s) = %v", body, i, encoded[i], err)
		}
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, c) {
			t.Fatalf("DecodeBatchRaw(%q) event %d encodes to\n%s\nwhich decodes to\n%#v (encoding/json)\n%#v (Unmarshal)\nwant DecodeBatch's\n%s\nwhich decodes to\n%#v", body, i, encoded[i], b, c, wantEnc, a)
		}
	}
}

// checkText fails the test unless text, of an event decoded from body, is
// "" or what rawText says: an object, compact, valid UTF-8, nested at most
// MaxDepth levels, a slice of the body.
func checkText(t *testing.T, body []byte, text string) {
	t.Helper()
	if text == "" {
		return
	}
	if !bytes.Contains(body, []byte(text)) {
		t.Errorf("text %q is not the body's", clip(text))
	}
	if text[0] != '{' || !json.Valid([]byte(text)) {
		t.Errorf("text %q is not a JSON object", clip(text))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(text)); err != nil || compact.String() != text {
		t.Errorf("text %q is not compact", clip(text))
	}
	if !utf8.ValidString(text) {
		t.Errorf("text %q is not valid UTF-8", clip(text))
	}
	if d := textDepth(text); d > MaxDepth {
		t.Errorf("text %q nests %d levels, over MaxDepth", clip(text), d)
	}
}

// textDepth returns how deeply JSON text nests objects and arrays.
func textDepth(text string) int {
	dec := json.NewDecoder(strings.NewReader(text))
	depth, most := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			most = max(most, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func TestDecodeBatchRaw(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) { checkSameRaw(t, []byte(tc.body)) })
	}
	for i, body := range readCorpus(t, filepath.Join("testdata", "fuzz", "FuzzDecodeBatch")) {
		t.Run("corpus/"+string(rune('a'+i%26)), func(t *testing.T) { checkSameRaw(t, body) })
	}
	for _, tc := range rawCases {
		t.Run(tc.name, func(t *testing.T) { checkSameRaw(t, []byte(tc.body)) })
	}
}

// rawCases are bodies whose properties, traits or context DecodeBatchRaw
// keeps as text (text), or decodes into maps as DecodeBatch does.
var rawCases = []struct {
	name, body string
	text       bool
}{
	{"browser tag page", string(browserBatch(1)), true},
	{"escapes kept", batchOf(`{"type":"page","anonymousId":"a1","properties":{"q":"\"\\\/\b\f\n\r\t\u00e9\ud83d\uded2\u0000","\u006b":"<&>"}}`), true},
	{"lone surrogate escapes kept", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":"\ud800","b":"\udc00\u0041"}}`), true},
	{"unicode kept", batchOf(`{"type":"page","anonymousId":"a1","properties":{"ville":"Zürich","emoji":"🛒","sep":"` + "\u2028" + `"}}`), true},
	{"numbers kept", batchOf(`{"type":"page","anonymousId":"a1","properties":{"z":-0,"one":1.0,"big":10000000000000000000000,"tiny":5e-324,"under":1e-400,"e":1E+2,"max":1.7976931348623157e308,"int":9007199254740993,"long":` + strings.Repeat("9", 299) + `}}`), true},
	{"long number out of range", batchOf(`{"type":"page","anonymousId":"a1","properties":{"n":` + strings.Repeat("9", 310) + `}}`), false},
	{"at the depth limit", batchOf(`{"type":"page","anonymousId":"a1","properties":` + nested(MaxDepth, `"leaf"`) + `}`), true},
	{"arrays at the depth limit", batchOf(`{"type":"identify","userId":"u1","traits":{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}}`), true},
	{"past the depth limit", batchOf(`{"type":"page","anonymousId":"a1","context":` + nested(MaxDepth+1, `1`) + `}`), false},
	{"arrays past the depth limit", batchOf(`{"type":"identify","userId":"u1","traits":{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}}`), false},
	{"whitespace", batchOf(`{"type":"page","anonymousId":"a1","properties":{ "a" : [ 1 , 2 ] ,"b":{"c" :null}}}`), false},
	{"whitespace at the end", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":1 }}`), false},
	{"newline inside", batchOf("{\"type\":\"page\",\"anonymousId\":\"a1\",\"context\":{\"a\":\n1}}"), false},
	{"raw byte not UTF-8 in a value", batchOf("{\"type\":\"page\",\"anonymousId\":\"a1\",\"properties\":{\"k\":\"v\xff\"}}"), false},
	{"raw byte not UTF-8 in a key", batchOf("{\"type\":\"page\",\"anonymousId\":\"a1\",\"context\":{\"k\xfe\":1}}"), false},
	{"surrogate half encoded in a trait", batchOf("{\"type\":\"identify\",\"userId\":\"u1\",\"traits\":{\"tags\":[\"ok\",\"\xed\xa0\x80\"]}}"), false},
	{"empty objects", batchOf(`{"type":"identify","anonymousId":"a1","properties":{},"traits":{},"context":{}}`), true},
	{"duplicate keys", batchOf(`{"type":"page","anonymousId":"a1","properties":{"a":1,"a":{"b":2}},"context":{"userAgent":"x","userAgent":"y","ip":"192.0.2.1","ip":null}}`), true},
	{"batch context merged into text", `{"context":{"locale":"en-US","library":{"name":"analytics-python"}},"batch":[` +
		`{"type":"page","anonymousId":"a1","context":{"locale":"fr-FR","page":{"url":"https://shop.example/"}}},{"type":"page","anonymousId":"a2","context":{}}]}`, false},
	{"empty batch context", `{"context":{},"batch":[{"type":"page","anonymousId":"a1","context":{"locale":"fr-FR"}}]}`, true},
}

// TestDecodeBatchRawText checks which fields DecodeBatchRaw keeps as text,
// and that AppendJSON writes that text byte for byte.
func TestDecodeBatchRawText(t *testing.T) {
	for _, tc := range rawCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatchRaw([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var texts, maps int
			for _, e := range b.Events {
				for _, f := range []struct {
					text string
					m    map[string]any
				}{{e.raw.properties, e.Properties}, {e.raw.traits, e.Traits}, {e.raw.context, e.Context}} {
					if f.text != "" && f.m != nil {
						t.Errorf("a field has both text %q and map %v", f.text, f.m)
					}
					if f.text != "" {
						texts++
						enc, err := e.AppendJSON(nil)
						if err != nil {
							t.Fatal(err)
						}
						if nonEmpty(f.text) && !bytes.Contains(enc, []byte(`":`+f.text)) {
							t.Errorf("AppendJSON() = %s, want it to hold the text %s as it is", enc, f.text)
						}
						if !nonEmpty(f.text) && bytes.Contains(enc, []byte(`{}`)) {
							t.Errorf("AppendJSON() = %s, want the empty object left out", enc)
						}
					}
					if f.m != nil {
						maps++
					}
				}
			}
			if tc.text && maps > 0 || !tc.text && maps == 0 && len(b.Events) > 0 {
				t.Errorf("DecodeBatchRaw() kept %d fields as text and %d as maps; want text only: %v", texts, maps, tc.text)
			}
		})
	}
}

func TestDecodeBatchRawRejects(t *testing.T) {
	body := batchOf(pageJSON,
		`{"type":"page","anonymousId":"a1","properties":`+nested(MaxDepth+1, `1`)+`}`,
		`{"type":"identify","anonymousId":"a1","traits":{"a":`+strings.Repeat("[", MaxDepth)+strings.Repeat("]", MaxDepth)+`}}`,
		`{"type":"page","anonymousId":"a1","context":{"a":`+nested(MaxDepth, `1`)+`}}`,
		`{"type":"identify","anonymousId":"a1","traits":{}}`,
	)
	b, err := DecodeBatchRaw([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rejection{
		{1, "invalid event: properties nests deeper than 8 levels"},
		{2, "invalid event: traits nests deeper than 8 levels"},
		{3, "invalid event: context nests deeper than 8 levels"},
		{4, "invalid event: userId or traits are required for identify"},
	}
	if !reflect.DeepEqual(b.Rejected, want) || !reflect.DeepEqual(b.Index, []int{0}) {
		t.Errorf("DecodeBatchRaw() accepted %v, rejected %v; want [0], %v", b.Index, b.Rejected, want)
	}
}

func TestContextValue(t *testing.T) {
	body := batchOf(`{"type":"page","anonymousId":"a1","context":{"i\u0070":"192.0.2.1","userAgent":"old","userAgent":"Mozilla\/5.0 \u00e9",` +
		`"consent":{"categoryPreferences":{"Analytics":true}},"locale":"fr-FR","page":{"url":"https://shop.example/"},"n":null}}`)
	b, err := DecodeBatchRaw([]byte(body))
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("DecodeBatchRaw() = %v, %v", b, err)
	}
	e := b.Events[0]
	if e.raw.context == "" {
		t.Fatal("context not kept as text")
	}
	m := decodeText(e.raw.context)
	for _, key := range []string{"ip", "userAgent", "consent", "locale", "page", "n", "missing"} {
		want, wantOK := m[key]
		if got := e.ContextValue(key); !reflect.DeepEqual(got, want) {
			t.Errorf("ContextValue(%q) = %#v, want %#v", key, got, want)
		}
		wantS, wantSOK := want.(string)
		if got, ok := e.ContextString(key); got != wantS || ok != wantSOK {
			t.Errorf("ContextString(%q) = %q, %v; want %q, %v", key, got, ok, wantS, wantSOK)
		}
		if got := e.ContextHas(key); got != wantOK {
			t.Errorf("ContextHas(%q) = %v, want %v", key, got, wantOK)
		}
	}
	if e.ContextValue("userAgent") != "Mozilla/5.0 é" {
		t.Errorf("ContextValue(userAgent) = %q, want the last one, unescaped", e.ContextValue("userAgent"))
	}
	if e.raw.context == "" || e.Context != nil {
		t.Error("ContextValue or ContextHas decoded the context into the event")
	}
	// Editing: the map, then AppendJSON writes it.
	e.ContextMap()["ip"] = "192.0.2.0"
	enc, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("192.0.2.1")) || !bytes.Contains(enc, []byte(`"ip":"192.0.2.0"`)) {
		t.Errorf("AppendJSON() after editing the context = %s", enc)
	}
	// A user agent without escapes: the text's own bytes.
	b, err = DecodeBatchRaw([]byte(batchOf(`{"type":"page","anonymousId":"a1","context":{"userAgent":"Mozilla/5.0 (X11) é","consent":true}}`)))
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("DecodeBatchRaw() = %v, %v", b, err)
	}
	if ua, consent := b.Events[0].ContextValue("userAgent"), b.Events[0].ContextValue("consent"); ua != "Mozilla/5.0 (X11) é" || consent != true {
		t.Errorf("ContextValue(userAgent, consent) = %#v, %#v", ua, consent)
	}
	if ua, ok := b.Events[0].ContextString("userAgent"); ua != "Mozilla/5.0 (X11) é" || !ok {
		t.Errorf("ContextString(userAgent) = %q, %v", ua, ok)
	}
	if s, ok := b.Events[0].ContextString("consent"); s != "" || ok {
		t.Errorf("ContextString(consent) = %q, %v, want no string", s, ok)
	}
	// A map context answers alike.
	e = &Event{Context: map[string]any{"ip": nil}}
	if !e.ContextHas("ip") || e.ContextValue("ip") != nil || e.ContextHas("userAgent") || e.ContextMap() == nil {
		t.Errorf("map context: ContextHas and ContextValue disagree with the map %v", e.Context)
	}
}

// TestDecodeBatchRawShares checks that DecodeBatchRaw's strings are views
// of the body, as it says, where the body holds them as they are.
func TestDecodeBatchRawShares(t *testing.T) {
	body := browserBatch(1)
	b, err := DecodeBatchRaw(body)
	if err != nil || len(b.Events) != 1 {
		t.Fatalf("DecodeBatchRaw() = %v, %v", b, err)
	}
	e := b.Events[0]
	inBody := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
		return p >= start && p+uintptr(len(s)) <= start+uintptr(len(body))
	}
	for _, s := range []string{b.WriteKey, e.Type, e.MessageID, e.AnonymousID, e.raw.context} {
		if !inBody(s) {
			t.Errorf("%q is a copy, want a view of the body", s)
		}
	}
}

// TestPlainBytes checks plainBytes against strPlain for every byte at
// every position of a word: it never passes a byte strPlain refuses, and
// it stops short of one only at the word holding it.
func TestPlainBytes(t *testing.T) {
	for c := range 256 {
		for pos := range 24 {
			s := bytes.Repeat([]byte("a"), 24)
			s[pos] = byte(c)
			first := len(s)
			for i, b := range s {
				if !strPlain[b] {
					first = i
					break
				}
			}
			n := plainBytes(s)
			if n > first || n%8 != 0 || n < first/8*8 {
				t.Fatalf("plainBytes(%q) = %d, want the whole words before byte %d", s, n, first)
			}
		}
	}
}

// TestBatchRelease checks that a released batch's memory, when reused,
// brings nothing of its old events along.
func TestBatchRelease(t *testing.T) {
	full := batchOf(`{"type":"identify","messageId":"m1","anonymousId":"a1","userId":"u1","timestamp":"2025-06-15T12:00:00Z",`+
		`"traits":{"email":"ada@example.com"},"properties":{"p":1},"context":{"ip":"192.0.2.1","userAgent":"x","consent":true}}`, pageJSON, trackJSON)
	for range 3 {
		for _, body := range []string{full, batchOf(`{"type":"page","anonymousId":"a2"}`), batchOf(`{"type":"page","userId":"u2","properties":{"q":2}}`, invalidJSON)} {
			got, err := DecodeBatchRaw([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := DecodeBatch([]byte(body))
			for _, e := range got.Events {
				e.DecodeRaw()
			}
			cmp := *got
			cmp.events, cmp.spareEvents, cmp.spareIndex, cmp.pooled = nil, nil, nil, false
			if !reflect.DeepEqual(&cmp, want) {
				t.Fatalf("DecodeBatchRaw(%q) after a release =\n%s\nwant\n%s", body, dumpBatch(got), dumpBatch(want))
			}
			got.Release()
			if got.Events != nil || got.WriteKey != "" || got.pooled {
				t.Fatalf("Release() left %+v", got)
			}
			got.Release() // a second time: nothing
			again, err := DecodeBatchRaw([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			other, err := DecodeBatchRaw([]byte(full))
			if err != nil {
				t.Fatal(err)
			}
			if again == other {
				t.Fatal("a batch released twice was handed out twice")
			}
			again.Release()
			other.Release()
		}
	}
	// A batch of DecodeBatch is not pooled: Release leaves it alone.
	b := mustDecodeBatch(t, batchOf(pageJSON))
	b.Release()
	if len(b.Events) != 1 {
		t.Errorf("Release() of DecodeBatch's batch changed it: %v", b.Events)
	}
}
