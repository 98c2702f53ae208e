package fastjson

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type rec struct {
	A  string         `json:"a"`
	T  time.Time      `json:"t"`
	M  map[string]any `json:"m,omitempty"`
	L  []int          `json:"l,omitempty"`
	P  *rec           `json:"p,omitempty"`
	Om time.Time      `json:"om,omitzero"`
}

func TestUnmarshal(t *testing.T) {
	for _, in := range []string{
		`{"a":"x","t":"2025-03-01T09:30:00.616Z","m":{"n":1.5,"s":"é\u00e9","l":[1,"x",null,{"k":true}]},"l":[1,2],"p":{"a":"y"}}`,
		// Lenient times only encoding/json reads: the fallback.
		`{"a":"x","t":"2025-01-01T1:00:00,5Z"}`,
		`{"A":"case-insensitive"}`,
		`null`,
	} {
		var std, fast rec
		errStd := json.Unmarshal([]byte(in), &std)
		err := Unmarshal([]byte(in), &fast)
		if (err == nil) != (errStd == nil) {
			t.Fatalf("%s: Unmarshal %v, encoding/json %v", in, err, errStd)
		}
		if in != `null` && !reflect.DeepEqual(std, fast) {
			t.Errorf("%s:\nUnmarshal     %+v\nencoding/json %+v", in, fast, std)
		}
	}
	for _, bad := range []string{`{"a":1}`, `{"a":"x"`, `[`, ``} {
		var v rec
		if err := Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
