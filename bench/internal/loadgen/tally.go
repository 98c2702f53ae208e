package loadgen

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// A Check judges the body of a 2xx answer. ok false refuses the answer: a
// failure, counted in Tally.Refused (a collector's answer without
// "accepted":1, a recommendation without items). marked counts an
// accepted answer in Tally.Marked as well (a decision that recorded an
// exposure). A nil Check accepts every 2xx answer and marks none.
type Check func(body []byte) (ok, marked bool)

// Tally counts the outcomes of requests. It is not safe for concurrent
// use: each sender keeps its own and they are added up at the end. A load
// generator's process sends it to the benchmark's as JSON, in its Report.
type Tally struct {
	OK       uint64         `json:"ok"`      // 2xx answers the check accepted
	Window   uint64         `json:"window"`  // ok answers received within the measured window
	Marked   uint64         `json:"marked"`  // ok answers the check marked
	Non2xx   uint64         `json:"non2xx"`  // answers other than 2xx
	Refused  uint64         `json:"refused"` // 2xx answers the check refused
	Errs     uint64         `json:"errors"`  // no answer: connection errors, timeouts
	Bytes    uint64         `json:"bytes"`   // of the ok answers' bodies
	Statuses map[int]uint64 `json:"statuses,omitempty"`
	FirstErr string         `json:"first_error,omitempty"`
}

// Record counts the outcome of one request, resp and err as the client's
// Do left them, judging a 2xx answer with check, and reports whether it
// succeeded.
func (t *Tally) Record(resp *fasthttp.Response, err error, check Check) bool {
	if err != nil {
		t.Fail(err)
		return false
	}
	return t.Answer(resp.StatusCode(), resp.Body(), check)
}

// Answer counts an answer with status code and body, judging a 2xx one
// with check, and reports whether the request succeeded.
func (t *Tally) Answer(code int, body []byte, check Check) bool {
	if code < 200 || code > 299 {
		t.Non2xx++
		if t.Statuses == nil {
			t.Statuses = map[int]uint64{}
		}
		t.Statuses[code]++
		t.first(fmt.Sprintf("%d %s", code, bytes.TrimSpace(body)))
		return false
	}
	ok, marked := true, false
	if check != nil {
		ok, marked = check(body)
	}
	if !ok {
		t.Refused++
		t.first(fmt.Sprintf("%d %s", code, bytes.TrimSpace(body)))
		return false
	}
	if marked {
		t.Marked++
	}
	t.OK++
	t.Bytes += uint64(len(body))
	return true
}

// Fail counts a request that got no answer because of err.
func (t *Tally) Fail(err error) {
	t.Errs++
	t.first(err.Error())
}

// first keeps msg if it describes the first failure.
func (t *Tally) first(msg string) {
	if t.FirstErr == "" {
		t.FirstErr = msg
	}
}

// Add adds o's counts to t's; t keeps its first failure if it has one.
func (t *Tally) Add(o *Tally) {
	t.OK += o.OK
	t.Window += o.Window
	t.Marked += o.Marked
	t.Non2xx += o.Non2xx
	t.Refused += o.Refused
	t.Errs += o.Errs
	t.Bytes += o.Bytes
	for code, n := range o.Statuses {
		if t.Statuses == nil {
			t.Statuses = map[int]uint64{}
		}
		t.Statuses[code] += n
	}
	t.first(o.FirstErr)
}

// Rate returns the answers counted in the window per second of d.
func (t *Tally) Rate(d time.Duration) float64 { return float64(t.Window) / d.Seconds() }

// StatusList returns " statuses=<code>:<n>,…" listing the non-2xx answers
// by status code, in order, or "" when there was none: the end of the
// benchmarks' counts.
func (t *Tally) StatusList() string {
	if len(t.Statuses) == 0 {
		return ""
	}
	var codes []string
	for _, code := range slices.Sorted(maps.Keys(t.Statuses)) {
		codes = append(codes, fmt.Sprintf("%d:%d", code, t.Statuses[code]))
	}
	return " statuses=" + strings.Join(codes, ",")
}

// Failure returns an error describing the failed requests, if any, after
// "<name>: ". refused is what the refused answers are, in the message
// ("recommendations without items").
func (t *Tally) Failure(name, refused string) error {
	if t.Non2xx+t.Refused+t.Errs == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d non-2xx answers, %d %s, %d requests without an answer; first: %s",
		name, t.Non2xx, t.Refused, refused, t.Errs, t.FirstErr)
}
