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

// acceptedOne is in the collector's answer when it stored the event.
var acceptedOne = []byte(`"accepted":1`)

// loadSpec is an open-loop run: n hits due at start + i/rate, sent by
// workers, one in probeEvery a probe handed to probes before it is sent.
type loadSpec struct {
	addr       string
	g          *generator
	rate       float64
	duration   time.Duration
	workers    int
	probeEvery int
	timeout    time.Duration
	probes     chan<- *probe // must hold every probe of the run
}

// tally counts the outcomes of requests. It is not safe for concurrent
// use: each sender keeps its own and they are added up at the end.
type tally struct {
	ok, non2xx, unaccepted, errs uint64
	statuses                     map[int]uint64
	firstErr                     string
	lags                         []time.Duration // from the due time to the send
}

func (t *tally) record(resp *fasthttp.Response, err error) bool {
	switch code := resp.StatusCode(); {
	case err != nil:
		t.errs++
		if t.firstErr == "" {
			t.firstErr = err.Error()
		}
	case code < 200 || code > 299:
		t.non2xx++
		if t.statuses == nil {
			t.statuses = map[int]uint64{}
		}
		t.statuses[code]++
		if t.firstErr == "" {
			t.firstErr = fmt.Sprintf("%d %s", code, bytes.TrimSpace(resp.Body()))
		}
	case !bytes.Contains(resp.Body(), acceptedOne):
		t.unaccepted++
		if t.firstErr == "" {
			t.firstErr = fmt.Sprintf("%d %s", code, bytes.TrimSpace(resp.Body()))
		}
	default:
		t.ok++
		return true
	}
	return false
}

func (t *tally) add(o *tally) {
	t.ok += o.ok
	t.non2xx += o.non2xx
	t.unaccepted += o.unaccepted
	t.errs += o.errs
	for code, n := range o.statuses {
		if t.statuses == nil {
			t.statuses = map[int]uint64{}
		}
		t.statuses[code] += n
	}
	if t.firstErr == "" {
		t.firstErr = o.firstErr
	}
	t.lags = append(t.lags, o.lags...)
}

func (t *tally) String() string {
	s := fmt.Sprintf("ok=%d non2xx=%d unaccepted=%d errors=%d", t.ok, t.non2xx, t.unaccepted, t.errs)
	if len(t.statuses) > 0 {
		var codes []string
		for _, code := range slices.Sorted(maps.Keys(t.statuses)) {
			codes = append(codes, fmt.Sprintf("%d:%d", code, t.statuses[code]))
		}
		s += " statuses=" + strings.Join(codes, ",")
	}
	return s
}

// failure returns an error describing the failed requests, if any.
func (t *tally) failure() error {
	if t.non2xx+t.unaccepted+t.errs == 0 {
		return nil
	}
	return fmt.Errorf("%d non-2xx answers, %d 2xx answers without \"accepted\":1, %d requests without an answer; first: %s",
		t.non2xx, t.unaccepted, t.errs, t.firstErr)
}

// loadResult is the outcome of an open-loop run.
type loadResult struct {
	tally
	scheduled, unsent int
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

// sender posts hits one at a time, as a browser's tag does.
type sender struct {
	s      *loadSpec
	client *fasthttp.HostClient
	req    *fasthttp.Request
	resp   *fasthttp.Response
	buf    []byte
	tally  tally
}

func newSender(s *loadSpec, client *fasthttp.HostClient) *sender {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + s.addr + "/v1/batch")
	// What Chrome sends with the tag's fetch: a string body, so text/plain
	// and no CORS preflight.
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.Set(fasthttp.HeaderOrigin, siteOrigin)
	req.Header.Set(fasthttp.HeaderAccept, "*/*")
	req.Header.Set(fasthttp.HeaderAcceptLanguage, "en-US,en;q=0.9")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	return &sender{s: s, client: client, req: req, resp: new(fasthttp.Response), buf: make([]byte, 0, 2048)}
}

// send posts h and reports whether the collector accepted it.
func (s *sender) send(h hit) bool {
	body, err := appendBody(s.buf[:0], h, time.Now())
	if err != nil {
		s.tally.errs++
		if s.tally.firstErr == "" {
			s.tally.firstErr = err.Error()
		}
		return false
	}
	s.buf = body
	s.req.SetBody(body)
	s.req.Header.SetUserAgent(h.agent.ua)
	s.req.Header.SetReferer(siteOrigin + "/")
	s.req.Header.DelAllCookies()
	if h.v != nil {
		s.req.Header.SetCookie("ecrm_vid", h.v.vid)
	}
	err = s.client.Do(s.req, s.resp)
	return s.tally.record(s.resp, err)
}

// openLoop sends s.duration's worth of hits scheduled at s.rate a second,
// through s.workers senders that each take the next due hit when free: when
// every sender is busy the schedule does not wait, and the wait shows as
// dispatch lag. Hits not sent by s.duration plus s.timeout are given up and
// counted as unsent.
func openLoop(ctx context.Context, s *loadSpec) *loadResult {
	client := newClient(s.addr, s.workers, s.timeout)
	defer client.CloseIdleConnections()
	n := int64(s.rate * s.duration.Seconds())
	start := time.Now().Add(20 * time.Millisecond)
	deadline := start.Add(s.duration + s.timeout)
	at := func(i int64) time.Time { return start.Add(time.Duration(float64(i) * float64(time.Second) / s.rate)) }

	var next atomic.Int64
	senders := make([]*sender, s.workers)
	var wg sync.WaitGroup
	for w := range senders {
		sd := newSender(s, client)
		sd.tally.lags = make([]time.Duration, 0, int(n)/s.workers+16)
		senders[w] = sd
		wg.Go(func() { labelled(ctx, "load", func(ctx context.Context) { sd.run(ctx, n, &next, at, deadline) }) })
	}
	wg.Wait()
	res := &loadResult{scheduled: int(n)}
	for _, sd := range senders {
		res.add(&sd.tally)
	}
	res.unsent = int(n) - len(res.lags)
	return res
}

// run sends the hits it takes from next, each when due (at), until n were
// taken or the deadline has passed.
func (sd *sender) run(ctx context.Context, n int64, next *atomic.Int64, at func(int64) time.Time, deadline time.Time) {
	s := sd.s
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		i := next.Add(1) - 1
		if i >= n {
			return
		}
		due := at(i)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		now := time.Now()
		if now.After(deadline) || ctx.Err() != nil {
			return
		}
		sd.tally.lags = append(sd.tally.lags, now.Sub(due))
		if (i+1)%int64(s.probeEvery) != 0 {
			sd.send(s.g.next(now))
			continue
		}
		h := s.g.probe(now)
		p := &probe{id: h.e.AnonymousID, due: due, sent: now}
		s.probes <- p
		if !sd.send(h) {
			p.failed.Store(true)
		}
	}
}

// probeCount returns how many of n scheduled hits are probes.
func probeCount(n int64, every int) int { return int(n / int64(every)) }
