package loadgen

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func response(code int, body string) *fasthttp.Response {
	resp := new(fasthttp.Response)
	resp.SetStatusCode(code)
	resp.SetBodyString(body)
	return resp
}

func TestTallyRecord(t *testing.T) {
	check := func(body []byte) (ok, marked bool) {
		return !bytes.Contains(body, []byte("empty")), bytes.Contains(body, []byte("group"))
	}
	var tl Tally
	outcomes := []struct {
		resp *fasthttp.Response
		err  error
		ok   bool
	}{
		{response(200, "fine"), nil, true},
		{response(204, "group"), nil, true},
		{response(200, " empty \n"), nil, false},
		{response(503, "busy"), nil, false},
		{response(503, "busy"), nil, false},
		{response(404, "none"), nil, false},
		{response(200, ""), errors.New("timeout"), false},
	}
	for i, o := range outcomes {
		if got := tl.Record(o.resp, o.err, check); got != o.ok {
			t.Errorf("outcome %d: Record = %v, want %v", i, got, o.ok)
		}
	}
	want := Tally{OK: 2, Marked: 1, Non2xx: 3, Refused: 1, Errs: 1, Bytes: 9, Statuses: map[int]uint64{503: 2, 404: 1}, FirstErr: "200 empty"}
	if !equal(tl, want) {
		t.Errorf("tally = %+v, want %+v", tl, want)
	}
	if got := tl.StatusList(); got != " statuses=404:1,503:2" {
		t.Errorf("StatusList = %q", got)
	}
	err := tl.Failure("decide", "recommendations without items")
	if err == nil || err.Error() != "decide: 3 non-2xx answers, 1 recommendations without items, 1 requests without an answer; first: 200 empty" {
		t.Errorf("Failure = %v", err)
	}

	// Without a check every 2xx answer is accepted.
	var plain Tally
	if !plain.Record(response(200, "empty"), nil, nil) || plain.OK != 1 || plain.Marked != 0 {
		t.Errorf("nil check: %+v", plain)
	}
	if plain.StatusList() != "" || plain.Failure("x", "y") != nil {
		t.Errorf("a clean tally reports %q, %v", plain.StatusList(), plain.Failure("x", "y"))
	}
}

// TestTallyAdd checks that adding tallies sums every count, merges the
// status codes and keeps the first failure.
func TestTallyAdd(t *testing.T) {
	a := Tally{OK: 1, Window: 1, Non2xx: 1, Statuses: map[int]uint64{500: 1}}
	b := Tally{OK: 2, Window: 1, Marked: 1, Non2xx: 2, Refused: 1, Errs: 1, Bytes: 10, Statuses: map[int]uint64{500: 1, 429: 1}, FirstErr: "b"}
	c := Tally{Errs: 1, FirstErr: "c"}
	var sum Tally
	for _, o := range []*Tally{&a, &b, &c} {
		sum.Add(o)
	}
	want := Tally{OK: 3, Window: 2, Marked: 1, Non2xx: 3, Refused: 1, Errs: 2, Bytes: 10, Statuses: map[int]uint64{500: 2, 429: 1}, FirstErr: "b"}
	if !equal(sum, want) {
		t.Errorf("sum = %+v, want %+v", sum, want)
	}
	if a.Statuses[500] != 1 || len(a.Statuses) != 1 {
		t.Errorf("Add changed its argument: %+v", a)
	}
}

func equal(a, b Tally) bool { return reflect.DeepEqual(a, b) }

func TestTallyFail(t *testing.T) {
	var tl Tally
	tl.Fail(errors.New("encode: bad"))
	tl.Fail(errors.New("later"))
	if tl.Errs != 2 || !strings.HasPrefix(tl.FirstErr, "encode") {
		t.Errorf("tally = %+v", tl)
	}
}
