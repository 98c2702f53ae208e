package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// target is a server under load.
type target struct {
	name string
	addr string // host:port
	// collector marks the collector, whose 2xx answers must also say
	// that the event was accepted.
	collector bool
}

// acceptedOne is in the collector's answer when it stored the event.
var acceptedOne = []byte(`"accepted":1`)

// tally counts the outcomes of requests. It is not safe for concurrent
// use: each sender keeps its own and they are added up at the end.
// The load generator's process sends it to the benchmark's as JSON.
type tally struct {
	OK         uint64         `json:"ok"`         // 2xx, and for the collector "accepted":1
	Window     uint64         `json:"window"`     // ok answers received within the measured window
	Non2xx     uint64         `json:"non2xx"`     // answers other than 2xx
	Unaccepted uint64         `json:"unaccepted"` // collector 2xx not saying "accepted":1
	Errs       uint64         `json:"errors"`     // no answer: connection errors, timeouts
	Statuses   map[int]uint64 `json:"statuses,omitempty"`
	FirstErr   string         `json:"first_error,omitempty"`
}

// record counts one request's outcome and reports whether it succeeded.
func (t *tally) record(tg target, resp *fasthttp.Response, err error) bool {
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
	case tg.collector && !bytes.Contains(resp.Body(), acceptedOne):
		t.Unaccepted++
		if t.FirstErr == "" {
			t.FirstErr = fmt.Sprintf("%d %s", code, bytes.TrimSpace(resp.Body()))
		}
	default:
		t.OK++
		return true
	}
	return false
}

func (t *tally) add(o *tally) {
	t.OK += o.OK
	t.Window += o.Window
	t.Non2xx += o.Non2xx
	t.Unaccepted += o.Unaccepted
	t.Errs += o.Errs
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
	s := fmt.Sprintf("ok=%d in_window=%d non2xx=%d unaccepted=%d errors=%d", t.OK, t.Window, t.Non2xx, t.Unaccepted, t.Errs)
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
	if t.Non2xx+t.Unaccepted+t.Errs == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d non-2xx answers, %d 2xx answers without \"accepted\":1, %d requests without an answer; first: %s",
		name, t.Non2xx, t.Unaccepted, t.Errs, t.FirstErr)
}

// newClient returns a keep-alive client of at most conns connections to
// addr that never retries: a retried POST could store a hit twice.
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

// sender sends requests one at a time and tallies their outcomes.
type sender struct {
	t      target
	g      *generator
	client *fasthttp.HostClient
	req    *fasthttp.Request
	resp   *fasthttp.Response
	buf    []byte
	tally  tally
}

func newSender(t target, g *generator, client *fasthttp.HostClient) *sender {
	return &sender{t: t, g: g, client: client, req: newRequest(t), resp: new(fasthttp.Response), buf: make([]byte, 0, 1024)}
}

// send sends the next request and reports whether it succeeded.
func (s *sender) send() bool {
	s.buf = s.g.fill(s.req, s.buf)
	err := s.client.Do(s.req, s.resp)
	return s.tally.record(s.t, s.resp, err)
}

// closedLoop has cfg.Conns senders send back to back for cfg.Warmup, then
// for cfg.Duration, counting in window the answers received in the latter.
// Every answer counts in ok, for the delivery check.
func closedLoop(ctx context.Context, t target, g *generator, cfg config) *tally {
	client := newClient(t.addr, cfg.Conns, cfg.Timeout)
	defer client.CloseIdleConnections()
	from := time.Now().Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	senders := make([]*sender, cfg.Conns)
	var wg sync.WaitGroup
	for i := range senders {
		s := newSender(t, g, client)
		senders[i] = s
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				default:
				}
				if !time.Now().Before(end) {
					return
				}
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
// request when free. A request's latency runs from its scheduled time: when
// every sender is busy the schedule does not wait, and the wait counts.
// Requests not sent by cfg.Duration plus cfg.Timeout are given up and
// counted as unsent.
func openLoop(ctx context.Context, t target, g *generator, rate float64, workers int, cfg config) *openResult {
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
	for w := range senders {
		s := newSender(t, g, client)
		senders[w] = s
		latencies[w] = make([]time.Duration, 0, int(n)/workers+16)
		lags[w] = make([]time.Duration, 0, int(n)/workers+16)
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
					latencies[w] = append(latencies[w], time.Since(sched))
				}
				lags[w] = append(lags[w], sent.Sub(sched))
			}
		})
	}
	wg.Wait()
	res := &openResult{scheduled: int(n)}
	for w, s := range senders {
		res.add(&s.tally)
		res.latencies = append(res.latencies, latencies[w]...)
		res.lags = append(res.lags, lags[w]...)
	}
	res.Window = res.OK
	res.unsent = int(n) - len(res.lags)
	return res
}
