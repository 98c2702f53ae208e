package profile

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestUnmarshalAsStd decodes snapshots with Unmarshal and with
// encoding/json and wants the same profile.
func TestUnmarshalAsStd(t *testing.T) {
	for _, n := range []int{0, 1, 30, 2000} {
		p := busyProfile(t, n)
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var std, fast Profile
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatal(err)
		}
		if err := Unmarshal(data, &fast); err != nil {
			t.Fatalf("%d hits: Unmarshal: %v", n, err)
		}
		if !reflect.DeepEqual(std, fast) {
			t.Errorf("%d hits: Unmarshal decoded\n%+v\nencoding/json\n%+v", n, fast, std)
		}
	}
}

// FuzzUnmarshal holds Unmarshal to encoding/json on any input: both refuse
// it, or both accept it and decode the same profile.
func FuzzUnmarshal(f *testing.F) {
	data, _ := json.Marshal(busyProfile(f, 40))
	f.Add(data)
	f.Add([]byte(`{"id":"p1","ids":["a:x"],"events":3,"traits":{"email":"a@b.c","n":1.5,"l":[1,"x",null]}}`))
	f.Add([]byte(`{"firstSeen":"2025-01-01T00:00:00Z","cart":{"lines":[{"productId":"p","price":1e3}]}}`))
	f.Add([]byte(`{"events":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var std, fast Profile
		errStd := json.Unmarshal(data, &std)
		errFast := Unmarshal(data, &fast)
		if (errStd == nil) != (errFast == nil) {
			// Both decoders stop at the first error, at different places;
			// only whether the input is accepted must agree.
			t.Fatalf("encoding/json: %v; Unmarshal: %v; input %q", errStd, errFast, data)
		}
		if errStd == nil && !reflect.DeepEqual(std, fast) {
			t.Fatalf("input %q:\nencoding/json %+v\nUnmarshal     %+v", data, std, fast)
		}
	})
}

// TestUnmarshalView: UnmarshalView decodes what Unmarshal does, but for
// the bookkeeping it leaves out, also where encoding/json must take over.
func TestUnmarshalView(t *testing.T) {
	for _, n := range []int{0, 1, 30, 2000} {
		p := busyProfile(t, n)
		if n > 0 { // what the profiler adds
			p.Counted = map[string]string{"visitor": "f1", "client": "f2"}
			p.Merged = []string{"p:old"}
		}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var full, lean Profile
		if err := Unmarshal(data, &full); err != nil {
			t.Fatal(err)
		}
		if n > 0 && (len(full.Recent) == 0 || len(full.Counted) == 0 || len(full.Merged) == 0) {
			t.Fatalf("%d hits: the snapshot holds no bookkeeping to leave out", n)
		}
		full.Counted, full.Recent, full.Merged = nil, nil, nil
		lean.Recent = []string{"stale"} // what the decoder leaves alone stays
		if err := UnmarshalView(data, &lean); err != nil {
			t.Fatalf("%d hits: UnmarshalView: %v", n, err)
		}
		lean.Recent = nil
		if !reflect.DeepEqual(full, lean) {
			t.Errorf("%d hits: UnmarshalView decoded\n%+v\nwant\n%+v", n, lean, full)
		}
	}
	// A time only encoding/json reads: the second decoder fills p too.
	data := []byte(`{"id":"p1","firstSeen":"2025-01-01T1:00:00,5Z","recent":["p:1"],"counted":{"a":"b"},"merged":["x"]}`)
	var p Profile
	if err := UnmarshalView(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != "p1" || p.FirstSeen.IsZero() || p.Recent != nil || p.Counted != nil || p.Merged != nil {
		t.Errorf("UnmarshalView = %+v", p)
	}
	if err := UnmarshalView([]byte(`{"id":`), &p); err == nil {
		t.Error("UnmarshalView accepts a truncated snapshot")
	}
}
