package profile

import (
	"encoding/json"
	"reflect"
	"testing"
)

// checkLean holds AppendLean to its contract on one input: when it reads
// the input, what it wrote is the input's members but the bookkeeping, in
// order, and decodes (UnmarshalView) to the same profile as the input;
// every JSON object it must read.
func checkLean(t *testing.T, snap []byte) {
	t.Helper()
	out, ok := AppendLean([]byte("prefix"), snap)
	if string(out[:6]) != "prefix" {
		t.Fatalf("AppendLean changed what dst held: %q", out)
	}
	lean := out[6:]
	var members map[string]json.RawMessage
	isObject := json.Unmarshal(snap, &members) == nil && members != nil
	if !ok {
		if len(lean) != 0 {
			t.Fatalf("AppendLean(%q) failed but appended %q", snap, lean)
		}
		if isObject && json.Valid(snap) {
			t.Fatalf("AppendLean cannot read the JSON object %q", snap)
		}
		return
	}
	if json.Valid(snap) != json.Valid(lean) {
		t.Fatalf("AppendLean(%q) = %q: valid %v, was %v", snap, lean, json.Valid(lean), json.Valid(snap))
	}
	if !json.Valid(snap) {
		return
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(lean, &got); err != nil {
		t.Fatalf("AppendLean(%q) = %q: %v", snap, lean, err)
	}
	for k := range members {
		switch k {
		case "counted", "recent", "merged":
			if _, kept := got[k]; kept {
				t.Fatalf("AppendLean(%q) kept %s", snap, k)
			}
			delete(members, k)
		}
	}
	if len(got) != len(members) {
		t.Fatalf("AppendLean(%q) = %q: members %d, want %d", snap, lean, len(got), len(members))
	}
	for k, v := range members {
		if string(got[k]) != string(v) {
			t.Fatalf("AppendLean(%q): member %s = %s, want %s as it was", snap, k, got[k], v)
		}
	}
	var a, b Profile
	errA, errB := UnmarshalView(snap, &a), UnmarshalView(lean, &b)
	if (errA == nil) != (errB == nil) || errA == nil && !reflect.DeepEqual(a, b) {
		t.Fatalf("AppendLean(%q): decodes to %+v, %v; the input to %+v, %v", snap, b, errB, a, errA)
	}
}

func TestAppendLean(t *testing.T) {
	for _, n := range []int{0, 1, 30, 2000} {
		p := busyProfile(t, n)
		p.Counted = map[string]string{"visitor": "f1"}
		p.Merged = []string{"p:old"}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		checkLean(t, data)
		lean, _ := AppendLean(nil, data)
		recent, _ := json.Marshal(p.Recent)
		if n > 0 && len(data)-len(lean) < len(recent) {
			t.Errorf("%d hits: lean snapshot %d bytes of %d, the message ids alone %d", n, len(lean), len(data), len(recent))
		}
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"recent":[]}`, `{"id":"a","recent":["x"],"events":3}`,
		`{"recent":["x"],"id":"a"}`, `{"a":{"recent":1},"merged":null}`,
		`{"id":"a\"recent","counted":{"x":"y"}}`, `{"n":-1.5e+3,"t":true,"f":false,"z":null}`,
		`{"a":[[],[{}],{"b":[1,2]}]}`,
		// Not read: left whole to the caller.
		``, `[]`, `"x"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1}x`, `{"a":"\u0000` + "\x01" + `"}`, `{"a":[1,2}`,
		// Not JSON inside a member it would drop: still not read.
		`{"recent":tru}`, `{"recent":1e}`, `{"counted":{"a":-}}`, `{"merged":["\x"]}`,
	} {
		checkLean(t, []byte(s))
	}
}

func FuzzAppendLean(f *testing.F) {
	data, _ := json.Marshal(busyProfile(f, 40))
	f.Add(data)
	f.Add([]byte(`{"id":"p1","recent":["p:1"],"counted":{"a":"b"},"merged":["x"],"traits":{"l":[1,"x",null]}}`))
	f.Add([]byte(`{"a":{"b":{"c":[{"d":"\"}"}]}}}`))
	f.Fuzz(func(t *testing.T, snap []byte) { checkLean(t, snap) })
}
