package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Kinds of target: what the requests ask and how answers are checked.
const (
	kindBare      = "bare"      // the recommend requests, to the bare handler
	kindRecommend = "recommend" // GET /v1/recommend, personal and similar in turn
	kindDecide    = "decide"    // GET /v1/decide at the home banner
)

// target is a server under load.
type target struct {
	name string
	kind string
	addr string // host:port
}

// Markers of the answers: a recommendation with at least one item, a
// decision that recorded an exposure (treatment or holdout).
var (
	someItems = []byte(`"items":[{`)
	aGroup    = []byte(`"group":`)
)

// tally counts the outcomes of requests. It is not safe for concurrent
// use: each sender keeps its own and they are added up at the end. The
// load generator's process sends it to the benchmark's as JSON.
type tally struct {
	OK       uint64         `json:"ok"`      // 2xx, and for recommend with items
	Window   uint64         `json:"window"`  // ok answers received within the measured window
	Exposed  uint64         `json:"exposed"` // decide answers naming a group: one exposure recorded each
	Non2xx   uint64         `json:"non2xx"`  // answers other than 2xx
	Empty    uint64         `json:"empty"`   // recommend 2xx without any item
	Errs     uint64         `json:"errors"`  // no answer: connection errors, timeouts
	Bytes    uint64         `json:"bytes"`   // of the ok answers' bodies
	Statuses map[int]uint64 `json:"statuses,omitempty"`
	FirstErr string         `json:"first_error,omitempty"`
}

// record counts one request's outcome and reports whether it succeeded.
func (t *tally) record(kind string, resp *fasthttp.Response, err error) bool {
	switch code := resp.StatusCode(); {
	case err != nil:
		t.Errs++
		if t.FirstErr == "" {
			t.FirstErr = err.Error()
		}
	case code < 200 || code > 299:
		t.Non2xx++
		if t.Statuses == nil {
			t.Statuses = map[int]uint64{}
		}
		t.Statuses[code]++
		if t.FirstErr == "" {
			t.FirstErr = fmt.Sprintf("%d %s", code, bytes.TrimSpace(resp.Body()))
		}
	case kind == kindRecommend && !bytes.Contains(resp.Body(), someItems):
		t.Empty++
		if t.FirstErr == "" {
			t.FirstErr = fmt.Sprintf("%d %s", code, bytes.TrimSpace(resp.Body()))
		}
	default:
		if kind == kindDecide && bytes.Contains(resp.Body(), aGroup) {
			t.Exposed++
		}
		t.OK++
		t.Bytes += uint64(len(resp.Body()))
		return true
	}
	return false
}

func (t *tally) add(o *tally) {
	t.OK += o.OK
	t.Window += o.Window
	t.Exposed += o.Exposed
	t.Non2xx += o.Non2xx
	t.Empty += o.Empty
	t.Errs += o.Errs
	t.Bytes += o.Bytes
	for code, n := range o.Statuses {
		if t.Statuses == nil {
			t.Statuses = map[int]uint64{}
		}
		t.Statuses[code] += n
	}
	if t.FirstErr == "" {
		t.FirstErr = o.FirstErr
	}
}

// rate returns the answers counted in the window per second of d.
func (t *tally) rate(d time.Duration) float64 { return float64(t.Window) / d.Seconds() }

func (t *tally) String() string {
	s := fmt.Sprintf("ok=%d in_window=%d non2xx=%d empty=%d errors=%d", t.OK, t.Window, t.Non2xx, t.Empty, t.Errs)
	if t.OK > 0 {
		s += fmt.Sprintf(" mean_body_bytes=%d", t.Bytes/t.OK)
	}
	if len(t.Statuses) > 0 {
		var codes []string
		for _, code := range slices.Sorted(maps.Keys(t.Statuses)) {
			codes = append(codes, fmt.Sprintf("%d:%d", code, t.Statuses[code]))
		}
		s += " statuses=" + strings.Join(codes, ",")
	}
	return s
}

// failure returns an error describing the failed requests, if any.
func (t *tally) failure(name string) error {
	if t.Non2xx+t.Empty+t.Errs == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d non-2xx answers, %d recommendations without items, %d requests without an answer; first: %s",
		name, t.Non2xx, t.Empty, t.Errs, t.FirstErr)
}

// newClient returns a keep-alive client of at most conns connections to
// addr that never retries.
func newClient(addr string, conns int, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  conns,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxIdleConnDuration:       time.Minute,
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		NoDefaultUserAgentHeader:  true,
	}
}

// pageUA is the User-Agent of the pages' fetches.
const pageUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// sender sends requests one at a time and tallies their outcomes. It is
// not safe for concurrent use.
type sender struct {
	t      target
	w      *world
	r      *rand.Rand
	n      uint64 // requests built
	client *fasthttp.HostClient
	req    *fasthttp.Request
	resp   *fasthttp.Response
	buf    []byte
	tally  tally
}

// newSender returns a sender to t over client. Its visitors and items are
// drawn from a random seed, so that no two phases ask for the same
// visitors in the same order: a phase never finds the profiles the
// previous one read waiting in the view's cache.
func newSender(t target, w *world, client *fasthttp.HostClient) *sender {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodGet)
	req.Header.Set(fasthttp.HeaderOrigin, "https://shop.example")
	req.Header.Set(fasthttp.HeaderAccept, "*/*")
	req.Header.Set(fasthttp.HeaderAcceptLanguage, "en-US,en;q=0.9")
	req.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip, deflate, br, zstd")
	req.Header.SetUserAgent(pageUA)
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	return &sender{t: t, w: w, r: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), client: client, req: req,
		resp: new(fasthttp.Response), buf: make([]byte, 0, 256)}
}

// fill sets the next request's URI and Referer: a random known visitor
// (see world.visitor) and, for recommend, personal and similar in turn for
// an item drawn by popularity, as product pages are viewed.
func (s *sender) fill() {
	s.n++
	anon := s.w.anonID(s.w.visitor(s.r))
	b := append(s.buf[:0], "http://"...)
	b = append(b, s.t.addr...)
	if s.t.kind == kindDecide {
		b = append(b, pathDecide+"?placement="+placement+"&anonymousId="...)
		b = append(b, anon...)
		b = append(b, "&writeKey=demo"...)
		s.req.Header.SetReferer("https://shop.example/")
	} else {
		typ := "personal"
		if s.n%2 == 0 {
			typ = "similar"
		}
		item := itemID(s.w.pop.sample(s.r))
		b = append(b, pathRecommend+"?type="...)
		b = append(b, typ...)
		b = append(b, "&anonymousId="...)
		b = append(b, anon...)
		b = append(b, "&item="...)
		b = append(b, item...)
		b = append(b, "&writeKey=demo"...)
		s.req.Header.SetReferer("https://shop.example/p/" + item)
	}
	s.req.SetRequestURIBytes(b)
	s.buf = b
}

// send sends the next request and reports whether it succeeded.
func (s *sender) send() bool {
	s.fill()
	err := s.client.Do(s.req, s.resp)
	return s.tally.record(s.t.kind, s.resp, err)
}

// closedLoop has cfg.Conns senders send back to back for cfg.Warmup, then
// for cfg.Duration, counting in window the answers received in the latter.
func closedLoop(ctx context.Context, t target, w *world, cfg config) *tally {
	client := newClient(t.addr, cfg.Conns, cfg.Timeout)
	defer client.CloseIdleConnections()
	from := time.Now().Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	senders := make([]*sender, cfg.Conns)
	var wg sync.WaitGroup
	for i := range senders {
		s := newSender(t, w, client)
		senders[i] = s
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				if s.send() {
					if now := time.Now(); !now.Before(from) && now.Before(end) {
						s.tally.Window++
					}
				}
			}
		})
	}
	wg.Wait()
	var sum tally
	for _, s := range senders {
		sum.add(&s.tally)
	}
	return &sum
}

// openResult is the outcome of an open-loop run.
type openResult struct {
	tally
	scheduled int
	unsent    int             // scheduled requests still unsent at the deadline
	latencies []time.Duration // of successful requests, from the scheduled time
	lags      []time.Duration // from the scheduled time to the actual send
}

// openLoop sends cfg.Duration's worth of requests scheduled at rate per
// second, through workers senders that each take the next scheduled
// request when free. A request's latency runs from its scheduled time:
// when every sender is busy the schedule does not wait, and the wait
// counts. Requests not sent by cfg.Duration plus cfg.Timeout are given up
// and counted as unsent.
func openLoop(ctx context.Context, t target, w *world, rate float64, workers int, cfg config) *openResult {
	client := newClient(t.addr, workers, cfg.Timeout)
	defer client.CloseIdleConnections()
	n := int64(rate * cfg.Duration.Seconds())
	start := time.Now().Add(20 * time.Millisecond)
	deadline := start.Add(cfg.Duration + cfg.Timeout)
	at := func(i int64) time.Time { return start.Add(time.Duration(float64(i) * float64(time.Second) / rate)) }

	var next atomic.Int64
	senders := make([]*sender, workers)
	latencies := make([][]time.Duration, workers)
	lags := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	for k := range senders {
		s := newSender(t, w, client)
		senders[k] = s
		latencies[k] = make([]time.Duration, 0, int(n)/workers+16)
		lags[k] = make([]time.Duration, 0, int(n)/workers+16)
		wg.Go(func() {
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				sched := at(i)
				if d := time.Until(sched); d > 0 {
					timer.Reset(d)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				}
				if time.Now().After(deadline) {
					return
				}
				sent := time.Now()
				if s.send() {
					latencies[k] = append(latencies[k], time.Since(sched))
				}
				lags[k] = append(lags[k], sent.Sub(sched))
			}
		})
	}
	wg.Wait()
	res := &openResult{scheduled: int(n)}
	for k, s := range senders {
		res.add(&s.tally)
		res.latencies = append(res.latencies, latencies[k]...)
		res.lags = append(res.lags, lags[k]...)
	}
	res.Window = res.OK
	res.unsent = int(n) - len(res.lags)
	return res
}
