package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
)

// acceptedOne is in the collector's answer when it stored the event.
var acceptedOne = []byte(`"accepted":1`)

// unaccepted is what failures call the collector's 2xx answers without
// "accepted":1, counted in a tally's Refused.
const unaccepted = `2xx answers without "accepted":1`

// accepted judges the collector's 2xx answers: they must say
// "accepted":1.
func accepted(body []byte) (ok, marked bool) { return bytes.Contains(body, acceptedOne), false }

// counts formats a tally as the profiler's lines show it.
func counts(t *loadgen.Tally) string {
	return fmt.Sprintf("ok=%d non2xx=%d unaccepted=%d errors=%d", t.OK, t.Non2xx, t.Refused, t.Errs) + t.StatusList()
}

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

// loadResult is the outcome of an open-loop run: the senders' tallies
// added up, the schedule's counts and the dispatch lags.
type loadResult struct {
	loadgen.Tally
	*loadgen.OpenResult
}

// sender posts hits one at a time, as a browser's tag does.
type sender struct {
	*loadgen.Conn
	buf []byte
}

func newSender(addr string, client *fasthttp.HostClient) *sender {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + addr + "/v1/batch")
	// What Chrome sends with the tag's fetch: a string body, so text/plain
	// and no CORS preflight.
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.Set(fasthttp.HeaderOrigin, siteOrigin)
	req.Header.Set(fasthttp.HeaderAccept, "*/*")
	req.Header.Set(fasthttp.HeaderAcceptLanguage, "en-US,en;q=0.9")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	return &sender{Conn: loadgen.NewConn(client, req, accepted), buf: make([]byte, 0, 2048)}
}

// send posts h and reports whether the collector accepted it.
func (s *sender) send(h hit) bool {
	body, err := appendBody(s.buf[:0], h, time.Now())
	if err != nil {
		s.Tally().Fail(err)
		return false
	}
	s.buf = body
	s.Req.SetBody(body)
	s.Req.Header.SetUserAgent(h.agent.ua)
	s.Req.Header.SetReferer(siteOrigin + "/")
	s.Req.Header.DelAllCookies()
	if h.v != nil {
		s.Req.Header.SetCookie("ecrm_vid", h.v.vid)
	}
	return s.Do()
}

// openLoop sends s.duration's worth of hits scheduled at s.rate a second,
// through s.workers senders that each take the next due hit when free
// (loadgen.OpenLoop): when every sender is busy the schedule does not
// wait, and the wait shows as dispatch lag. Hits not sent by s.duration
// plus s.timeout are given up and counted as unsent.
func openLoop(ctx context.Context, s *loadSpec) *loadResult {
	client := loadgen.NewClient(s.addr, s.workers, s.timeout)
	defer client.CloseIdleConnections()
	senders := make([]*sender, s.workers)
	for w := range senders {
		senders[w] = newSender(s.addr, client)
	}
	sched := loadgen.Schedule{Rate: s.rate, Duration: s.duration, Timeout: s.timeout, Workers: s.workers}
	res := new(loadResult)
	// The workers' goroutines inherit the label.
	labelled(ctx, "load", func(ctx context.Context) {
		res.OpenResult = loadgen.OpenLoop(ctx, sched, func(w int, i int64, due, now time.Time) bool {
			return senders[w].sendAt(s, i, due, now)
		})
	})
	for _, sd := range senders {
		res.Add(sd.Tally())
	}
	return res
}

// sendAt sends hit i of s, due at due, now: one in s.probeEvery is a
// probe, handed to s.probes before it is sent.
func (sd *sender) sendAt(s *loadSpec, i int64, due, now time.Time) bool {
	if (i+1)%int64(s.probeEvery) != 0 {
		return sd.send(s.g.next(now))
	}
	h := s.g.probe(now)
	p := &probe{id: h.e.AnonymousID, due: due, sent: now}
	s.probes <- p
	ok := sd.send(h)
	if !ok {
		p.failed.Store(true)
	}
	return ok
}

// probeCount returns how many of n scheduled hits are probes.
func probeCount(n int64, every int) int { return int(n / int64(every)) }
