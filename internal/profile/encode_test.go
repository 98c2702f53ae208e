package profile

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// sameAsMarshal fails unless p.AppendJSON writes json.Marshal(p)'s bytes,
// or both fail.
func sameAsMarshal(tb testing.TB, p *Profile) {
	tb.Helper()
	want, errStd := json.Marshal(p)
	got, err := p.AppendJSON([]byte("prefix"))
	if (err == nil) != (errStd == nil) {
		tb.Fatalf("AppendJSON error %v, json.Marshal error %v", err, errStd)
	}
	if err != nil {
		if string(got) != "prefix" {
			tb.Fatalf("AppendJSON failed but left %q", got)
		}
		return
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		tb.Fatalf("AppendJSON\n%s\njson.Marshal\n%s", got[len("prefix"):], want)
	}
}

func TestAppendJSON(t *testing.T) {
	for _, n := range []int{0, 1, 10, 300, 3000} {
		sameAsMarshal(t, busyProfile(t, n))
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	cases := map[string]*Profile{
		"zero":   {},
		"new":    New("p1", "a:x"),
		"traits": {Traits: map[string]any{"b": []any{1.5, "x<y>&", nil, true, map[string]any{"z": 1e-7, "a": 1e21}}, "a": "\u2028\xff"}},
		"zero-ish structs": {
			Sessions: Sessions{Recent: []Session{}}, Cart: Cart{Value: math.Copysign(0, -1)}, Orders: Orders{Bought: []string{}},
			ProductInterest: Interests{Scores: map[string]float64{}}, CategoryInterest: Interests{AsOf: time.Time{}.In(time.FixedZone("y", 0))},
			FirstTouch: Touch{At: time.Time{}.In(time.FixedZone("z", 60))},
		},
		"campaigns": {Campaigns: map[string]*Exposure{"b": {Group: "holdout", First: at, Last: at, Count: 2, Converted: true, Orders: 1, Revenue: 9.5}, "a": nil},
			Counted: map[string]string{"z": "1", "customer": "2026-01"}, Segments: []string{"s1"}, Merged: []string{"a:y"}},
		"scores":    {ProductInterest: Interests{AsOf: at, Scores: map[string]float64{"x": 1234567.89, "y": 1e-9, "z": 0, "w": -3.25}}},
		"bad time":  {FirstSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"nan":       {Cart: Cart{Value: math.NaN()}},
		"nan score": {CategoryInterest: Interests{Scores: map[string]float64{"x": math.Inf(1)}}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) { sameAsMarshal(t, p) })
	}
}

// FuzzAppendJSON decodes any input into a profile and wants AppendJSON to
// write what json.Marshal writes of it.
func FuzzAppendJSON(f *testing.F) {
	data, _ := json.Marshal(busyProfile(f, 40))
	f.Add(data)
	f.Add([]byte(`{"traits":{"a":[1,{"b":null}],"c":"\u003c"},"cart":{"value":-0},"sessions":{"recent":[]}}`))
	f.Add([]byte(`{"campaigns":{"x":null,"y":{"group":"treatment","count":1}},"counted":{"a":"b"},"orders":{"bought":[]}}`))
	f.Add([]byte(`{"productInterest":{"asOf":"2026-01-01T00:00:00+01:00","scores":{"a":1e300,"b":-1e-300}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Profile
		if json.Unmarshal(data, &p) != nil {
			return
		}
		sameAsMarshal(t, &p)
	})
}

func BenchmarkEncodeProfile(b *testing.B) {
	p := busyProfile(b, 30)
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = p.AppendJSON(buf[:0])
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(p)
		}
	})
}
