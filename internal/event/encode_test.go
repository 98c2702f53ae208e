package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkAppendJSON fails the test unless e.AppendJSON writes what
// json.Marshal(e) does, after a prefix it must keep, and fails where
// json.Marshal fails.
func checkAppendJSON(tb testing.TB, e *Event) {
	tb.Helper()
	want, wantErr := json.Marshal(e)
	prefix := []byte("prefix:")
	got, err := e.AppendJSON(bytes.Clone(prefix))
	if (err != nil) != (wantErr != nil) {
		tb.Fatalf("AppendJSON() error = %v, json.Marshal() error = %v, want both or neither", err, wantErr)
	}
	if !bytes.HasPrefix(got, prefix) {
		tb.Fatalf("AppendJSON(%q) = %q, want it to keep the prefix", prefix, got)
	}
	got = got[len(prefix):]
	if wantErr != nil {
		if len(got) != 0 {
			tb.Errorf("AppendJSON() = %q with error %v, want dst as it was", got, err)
		}
		return
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("AppendJSON() =\n%s\njson.Marshal() =\n%s", got, want)
	}
	var fromAppend, fromMarshal Event
	if err := json.Unmarshal(got, &fromAppend); err != nil {
		tb.Fatalf("json.Unmarshal(%q) = %v", got, err)
	}
	if err := json.Unmarshal(want, &fromMarshal); err != nil {
		tb.Fatalf("json.Unmarshal(%q) = %v", want, err)
	}
	if !reflect.DeepEqual(fromAppend, fromMarshal) {
		tb.Errorf("json.Unmarshal(AppendJSON()) = %+v, want %+v", fromAppend, fromMarshal)
	}
}

func TestAppendJSON(t *testing.T) {
	ts := time.Date(2025, 6, 15, 12, 0, 0, 123_456_789, time.UTC)
	paris := time.FixedZone("", 2*3600)
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name string
		e    Event
	}{
		{"zero", Event{}},
		{"page", Event{Type: TypePage, AnonymousID: "a1", MessageID: "m1", Timestamp: ts}},
		{"every field", Event{
			Type: TypeTrack, Event: "Order Completed", Name: "n", MessageID: "m", AnonymousID: "a", UserID: "u",
			PreviousID: "p", GroupID: "g", Timestamp: ts, SentAt: ts.In(paris),
			Properties: map[string]any{"total": 39.9, "currency": "EUR", "items": []any{map[string]any{"sku": "s1", "qty": 2.0}}},
			Traits:     map[string]any{"email": "ada@example.com", "vip": true, "nickname": nil},
			Context:    map[string]any{"page": map[string]any{"url": "https://shop.example/?a=1&b=<2>"}, "sessionId": 1718452800123.0},
			ReceivedAt: ts, SiteID: "demo", VisitorID: "v", IP: "192.0.2.0",
			UA:  &UA{Browser: "Chrome", Version: "131", OS: "Windows", Device: "desktop"},
			Bot: true,
		}},
		{"empty ua", Event{Type: TypePage, UA: &UA{}}},
		{"ua without browser", Event{Type: TypePage, UA: &UA{OS: "Linux", Device: "desktop"}}},
		{"empty maps", Event{Type: TypePage, Properties: map[string]any{}, Traits: map[string]any{}, Context: map[string]any{}}},
		{"nil and empty values", Event{Type: TypePage, Properties: map[string]any{
			"nilmap": map[string]any(nil), "nilslice": []any(nil), "emptymap": map[string]any{}, "emptyslice": []any{}, "null": nil,
		}}},
		{"escapes", Event{Type: "a\"b\\c\n\r\t\b\f\x00\x1f\x7f<>&'", Event: "\u2028\u2029é✓😀", Name: "bad\xff\xfeutf8\xc3", Properties: map[string]any{
			"<key>&\"": "v", "\xff": "\xed\xa0\x80", "": "",
		}}},
		{"floats", Event{Type: TypePage, Properties: map[string]any{
			"zero": 0.0, "negzero": math.Copysign(0, -1), "int": 42.0, "neg": -7.5, "big": 1e21, "below big": 999999999999999999999.0,
			"small": 1e-7, "edge small": 1e-6, "tiny": 5e-324, "max": math.MaxFloat64, "third": 1.0 / 3, "exp": 1.5e300, "negexp": -2.5e-10,
		}}},
		{"keys in byte order", Event{Type: TypePage, Properties: map[string]any{
			"b": 1.0, "a": 2.0, "B": 3.0, "aa": 4.0, "é": 5.0, "_": 6.0, "0": 7.0, "a0": 8.0, "ab": 9.0, "Z": 10.0, "z": 11.0, "zz": 12.0, "y": 13.0, "x": 14.0,
		}}},
		{"other go types", Event{Type: TypePage, Properties: map[string]any{
			"int": 3, "uint8": uint8(7), "float32": float32(0.1), "number": json.Number("12.50"), "strings": map[string]string{"b": "2", "a": "<1>"},
			"time": ts, "raw": json.RawMessage(`{"z": 1, "a": "<"}`), "bytes": []byte("hi"), "ptr": new(int), "struct": struct{ A int }{1},
		}}},
		{"deep", Event{Type: TypePage, Properties: nestedMap(maxEncodeDepth+10, []any{1.0, "x"})}},
		{"times in zones and years", Event{Type: TypePage,
			Timestamp:  time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
			SentAt:     time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("", -(23*3600+59*60))),
			ReceivedAt: time.Date(2000, 2, 29, 1, 2, 3, 400_000_000, time.FixedZone("", 5*3600+30*60))}},

		{"nan", Event{Type: TypePage, Properties: map[string]any{"x": math.NaN()}}},
		{"infinity in an array", Event{Type: TypePage, Context: map[string]any{"a": []any{1.0, math.Inf(-1)}}}},
		{"year past 9999", Event{Type: TypePage, Timestamp: time.Date(10_000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"negative year", Event{Type: TypePage, ReceivedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"zone of 24 hours", Event{Type: TypePage, SentAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))}},
		{"channel", Event{Type: TypePage, Traits: map[string]any{"c": make(chan int)}}},
		{"cycle", Event{Type: TypePage, Properties: cyclic}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkAppendJSON(t, &tc.e)
		})
	}
}

// TestAppendJSONRandom checks AppendJSON against json.Marshal on random
// events: the same bytes, and decoded, the same event.
func TestAppendJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	n := 5000
	if testing.Short() {
		n = 500
	}
	for i := range n {
		e := randomEvent(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkAppendJSON(t, &e)
		})
		if t.Failed() {
			return
		}
	}
}

// randomEvent returns an event with each field set or not, strings drawn
// from a mix of plain, escaped, multi-byte and invalid bytes, and nested
// properties, traits and context.
func randomEvent(r *rand.Rand) Event {
	str := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		return randomString(r)
	}
	e := Event{
		Type: str(), Event: str(), Name: str(), MessageID: str(), AnonymousID: str(), UserID: str(),
		PreviousID: str(), GroupID: str(), SiteID: str(), VisitorID: str(), IP: str(),
		Timestamp: randomTime(r), SentAt: randomTime(r), ReceivedAt: randomTime(r),
		Bot: r.IntN(2) == 0,
	}
	for _, m := range []*map[string]any{&e.Properties, &e.Traits, &e.Context} {
		switch r.IntN(4) {
		case 0:
		case 1:
			*m = map[string]any{}
		default:
			*m = randomObject(r, 1)
		}
	}
	if r.IntN(2) == 0 {
		e.UA = &UA{Browser: str(), Version: str(), OS: str(), Device: str()}
	}
	return e
}

// randomPieces are what random strings are made of.
var randomPieces = []string{
	"a", "Z", "0", " ", "page", "https://shop.example/?q=1", "é", "✓", "東京", "😀",
	`"`, `\`, "/", "<", ">", "&", "'", "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
	"\u2028", "\u2029", "\ufffd", "\xff", "\xc3", "\xed\xa0\x80", "\xf0\x9f", "\xe2\x80",
}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(8) + 1 {
		b.WriteString(randomPieces[r.IntN(len(randomPieces))])
	}
	return b.String()
}

func randomTime(r *rand.Rand) time.Time {
	if r.IntN(3) == 0 {
		return time.Time{}
	}
	sec := r.Int64N(time.Date(9998, 1, 1, 0, 0, 0, 0, time.UTC).Unix()-time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()) +
		time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	var nsec int64
	switch r.IntN(3) {
	case 1:
		nsec = r.Int64N(1000) * int64(time.Millisecond)
	case 2:
		nsec = r.Int64N(int64(time.Second))
	}
	t := time.Unix(sec, nsec)
	if r.IntN(2) == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", (r.IntN(47)-23)*3600+r.IntN(4)*15*60))
}

func randomObject(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range r.IntN(6) {
		m[randomString(r)] = randomValue(r, depth+1)
	}
	return m
}

func randomValue(r *rand.Rand, depth int) any {
	max := 7
	if depth > 5 {
		max = 5 // no more containers
	}
	switch r.IntN(max) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return randomString(r)
	case 3, 4:
		return randomFloat(r)
	case 5:
		return randomObject(r, depth)
	default:
		s := make([]any, r.IntN(4))
		for i := range s {
			s[i] = randomValue(r, depth+1)
		}
		return s
	}
}

func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(5) {
	case 0:
		return float64(r.IntN(2_000_000) - 1_000_000)
	case 1:
		return r.NormFloat64() * 1000
	case 2:
		return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.IntN(0x7ff))<<52) // never NaN or Inf
	case 3:
		return math.Ldexp(r.Float64(), r.IntN(200)-100)
	default:
		return float64(r.Int64N(1e16)) / 100
	}
}

// FuzzAppendJSON decodes arbitrary bytes as an event and, when they decode,
// checks that AppendJSON writes what json.Marshal does.
func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(pageJSON))
	f.Add([]byte(trackJSON))
	f.Add([]byte(identifyJSON))
	f.Add([]byte(fmt.Sprintf(browserPage, 1)))
	f.Add([]byte(`{"type":"<\u2028>","properties":{"b":[1e21,1e-7,-0,null,true,{"\u00e9":"\ud800"}],"a":{}},"sentAt":"2025-06-15T14:00:00.5+02:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		if json.Unmarshal(data, &e) != nil {
			return
		}
		checkAppendJSON(t, &e)
		if b, err := DecodeBatch(append(append([]byte(`{"batch":[`), data...), "]}"...)); err == nil {
			for _, e := range b.Events {
				checkAppendJSON(t, e)
			}
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	bt, err := DecodeBatch(browserBatch(1))
	if err != nil {
		b.Fatal(err)
	}
	e := bt.Events[0]
	e.ReceivedAt, e.SiteID, e.VisitorID, e.IP = time.Now(), "demo", "0123456789abcdef0123456789abcdef", "192.0.2.0"
	e.UA = &UA{Browser: "Safari", Version: "17.4", OS: "macOS", Device: "desktop"}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			if buf, err = e.AppendJSON(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendStringEveryByte checks the escaping of every byte value at
// every position of a string of two words and a bit, against json.Marshal.
func TestAppendStringEveryByte(t *testing.T) {
	for c := range 256 {
		for pos := range 19 {
			b := []byte(strings.Repeat("a", 19))
			b[pos] = byte(c)
			for _, s := range []string{string(b), string(b[:pos+1]) + "é" + string(b[pos+1:])} {
				want, err := json.Marshal(s)
				if err != nil {
					t.Fatalf("json.Marshal(%q) = %v", s, err)
				}
				if got := appendString(nil, s); !bytes.Equal(got, want) {
					t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
				}
			}
		}
	}
}
