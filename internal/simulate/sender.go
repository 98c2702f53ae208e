package simulate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [Sender].
const (
	DefaultConcurrency = 32
	DefaultTimeout     = 10 * time.Second
)

// Errors returned by [Sender.Run], with the result so far.
var (
	// ErrRefused is returned when the collector refuses the write key
	// (401) or the origin (403): no request could succeed.
	ErrRefused = errors.New("simulate: collector refused the requests")
	// ErrUnreachable is returned when the first requests all fail without
	// an answer: nothing listens at the target, or it never answers.
	ErrUnreachable = errors.New("simulate: collector unreachable")
)

// unreachableAfter is how many requests may fail without any answer
// before a run gives up.
const unreachableAfter = 10

// Sender posts a generator's batches to a collector at a fixed rate.
type Sender struct {
	// Target is the collector's base URL; batches go to Target/v1/batch.
	Target string
	// WriteKey is sent as the Basic-auth user name and in the body.
	WriteKey string
	// Rate is the target in events per second. Sending is open loop: a
	// token bucket releases batches on time whatever the answers, and
	// only a full set of requests in flight holds it back.
	Rate float64
	// Concurrency bounds the requests in flight (default 32).
	Concurrency int
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Client sends the requests (default: one with keep-alive connections
	// for Concurrency requests and no cookie jar).
	Client *http.Client
	// Progress, when set, is called about every ProgressEvery (default 1s)
	// and once at the end, from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Limit says when a run stops: after Events events when positive, else
// after Duration. A run also stops when its context is done.
type Limit struct {
	Events   int
	Duration time.Duration
}

// Progress is a snapshot of a run.
type Progress struct {
	Elapsed time.Duration
	Sent    int64
	Errors  int64
	// Rate is events per second over the last interval.
	Rate float64
	// ETA is the time left, or -1 when unknown.
	ETA  time.Duration
	Done bool
}

// Result sums up a run.
type Result struct {
	Elapsed  time.Duration
	Requests int
	// Sent counts the events posted; each is then Accepted, Rejected (the
	// collector found it invalid or refused its request), Dropped (valid
	// but not stored by the site's privacy policy) or Failed (no answer,
	// or a 5xx).
	Sent, Accepted, Rejected, Dropped, Failed int
	// Errors counts the requests that failed.
	Errors int
	// FirstError describes the first failure or refusal, if any.
	FirstError string
	// P50, P99 and Max are the request latencies.
	P50, P99, Max time.Duration
	// Rate is the target rate, Achieved the events per second sent.
	Rate, Achieved float64
}

// answer is the collector's reply to a batch.
type answer struct {
	Error    string            `json:"error"`
	Accepted int               `json:"accepted"`
	Rejected []json.RawMessage `json:"rejected"`
	Dropped  int               `json:"dropped"`
}

// tally is one worker's count of outcomes.
type tally struct {
	requests, sent, accepted, rejected, dropped, failed, errors int
	firstError                                                  string
	refused                                                     bool
	lat                                                         histogram
}

// Run sends batches from g until the limit or ctx ends, waits for the
// requests in flight, and returns what happened. It returns ErrRefused
// (with the result so far) when the collector refuses the write key or
// origin. Requests in flight when ctx ends are allowed to finish, each
// within Timeout.
func (s *Sender) Run(ctx context.Context, g *Generator, limit Limit) (Result, error) {
	u, err := url.Parse(s.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("simulate: target %q is not an http(s) URL", s.Target)
	}
	endpoint := u.JoinPath("/v1/batch").String()
	if !(s.Rate > 0) {
		return Result{}, errors.New("simulate: rate must be positive")
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conc,
			MaxIdleConnsPerHost: conc,
			IdleConnTimeout:     90 * time.Second,
		}}
		defer client.CloseIdleConnections()
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(s.WriteKey+":"))

	start := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if limit.Events <= 0 && limit.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, start.Add(limit.Duration))
		defer cancel()
	}
	// In-flight requests outlive ctx, so that Ctrl-C still counts them.
	reqCtx := context.WithoutCancel(ctx)

	var sent, errs, answered, unanswered atomic.Int64
	var unreachable atomic.Bool
	work := make(chan *Batch)
	tallies := make([]tally, conc)
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func(t *tally) {
			defer wg.Done()
			var buf []byte
			for b := range work {
				before := t.errors
				var ok bool
				buf, ok = s.post(reqCtx, client, endpoint, auth, timeout, b, buf[:0], t)
				sent.Add(int64(len(b.Events)))
				errs.Add(int64(t.errors - before))
				switch {
				case ok:
					answered.Add(1)
				case answered.Load() == 0 && unanswered.Add(1) >= unreachableAfter:
					unreachable.Store(true)
					stop()
				}
				if t.refused {
					stop()
				}
			}
		}(&tallies[i])
	}

	progressDone := make(chan struct{})
	stopProgress := make(chan struct{})
	go s.report(start, limit, &sent, &errs, stopProgress, progressDone)

	tb := bucket{rate: s.Rate, burst: max(10, s.Rate/20)}
	remaining := limit.Events
	for runCtx.Err() == nil && (limit.Events <= 0 || remaining > 0) {
		b := g.Next()
		if limit.Events > 0 && len(b.Events) > remaining {
			b.Events = b.Events[:remaining]
		}
		if tb.take(runCtx, float64(len(b.Events))) != nil {
			break
		}
		select {
		case work <- b:
			remaining -= len(b.Events)
		case <-runCtx.Done():
		}
	}
	close(work)
	wg.Wait()
	close(stopProgress)
	<-progressDone

	var total tally
	for i := range tallies {
		t := &tallies[i]
		total.requests += t.requests
		total.sent += t.sent
		total.accepted += t.accepted
		total.rejected += t.rejected
		total.dropped += t.dropped
		total.failed += t.failed
		total.errors += t.errors
		total.refused = total.refused || t.refused
		if total.firstError == "" {
			total.firstError = t.firstError
		}
		total.lat.merge(&t.lat)
	}
	elapsed := time.Since(start)
	res := Result{
		Elapsed: elapsed, Requests: total.requests,
		Sent: total.sent, Accepted: total.accepted, Rejected: total.rejected, Dropped: total.dropped, Failed: total.failed,
		Errors: total.errors, FirstError: total.firstError,
		P50: total.lat.quantile(0.5), P99: total.lat.quantile(0.99), Max: total.lat.max,
		Rate: s.Rate, Achieved: float64(total.sent) / max(elapsed.Seconds(), 1e-9),
	}
	switch {
	case total.refused:
		return res, fmt.Errorf("%w: %s", ErrRefused, total.firstError)
	case unreachable.Load():
		return res, fmt.Errorf("%w: %s", ErrUnreachable, total.firstError)
	}
	return res, nil
}

// post sends one batch and counts the answer in t. It returns buf for
// reuse, and whether the collector answered at all.
func (s *Sender) post(ctx context.Context, client *http.Client, endpoint, auth string, timeout time.Duration, b *Batch, buf []byte, t *tally) ([]byte, bool) {
	n := len(b.Events)
	t.requests++
	t.sent += n
	fail := func(msg string) {
		t.errors++
		t.failed += n
		if t.firstError == "" {
			t.firstError = msg
		}
	}
	buf, err := b.AppendBody(buf, s.WriteKey, time.Now())
	if err != nil {
		fail(err.Error())
		return buf, false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(buf))
	if err != nil {
		fail(err.Error())
		return buf, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	req.Header.Set("User-Agent", b.UserAgent)
	if b.Origin != "" {
		req.Header.Set("Origin", b.Origin)
	}
	if b.VisitorCookie != "" {
		req.Header.Set("Cookie", "ecrm_vid="+b.VisitorCookie)
	}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.lat.add(time.Since(began))
		fail(err.Error())
		return buf, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.lat.add(time.Since(began))
	var a answer
	jsonErr := json.Unmarshal(body, &a)
	switch code := resp.StatusCode; {
	case err != nil:
		fail(err.Error())
	case code >= 500:
		fail(fmt.Sprintf("%d %s", code, clipText(body)))
	case code == http.StatusBadRequest && jsonErr == nil && len(a.Rejected) > 0:
		// Nothing valid in the batch; the answer says which and why.
		t.rejected += len(a.Rejected)
		t.failed += max(0, n-len(a.Rejected))
		if t.firstError == "" {
			t.firstError = fmt.Sprintf("%d %s", code, clipText(body))
		}
	case code >= 300:
		t.rejected += n
		if t.firstError == "" {
			t.firstError = fmt.Sprintf("%d %s", code, clipText(body))
		}
		t.refused = t.refused || code == http.StatusUnauthorized || code == http.StatusForbidden
	case jsonErr != nil:
		fail(fmt.Sprintf("%d answer is not the collector's JSON: %s", code, clipText(body)))
	default:
		t.accepted += a.Accepted
		t.rejected += len(a.Rejected)
		t.dropped += a.Dropped
		if len(a.Rejected) > 0 && t.firstError == "" {
			t.firstError = fmt.Sprintf("rejected: %s", clipText(a.Rejected[0]))
		}
	}
	return buf, true
}

// report calls s.Progress every interval until stop is closed, then once
// more with Done set, and closes done.
func (s *Sender) report(start time.Time, limit Limit, sent, errs *atomic.Int64, stop, done chan struct{}) {
	defer close(done)
	if s.Progress == nil {
		return
	}
	every := s.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastAt, lastSent := start, int64(0)
	snapshot := func(final bool) Progress {
		now := time.Now()
		n := sent.Load()
		p := Progress{Elapsed: now.Sub(start), Sent: n, Errors: errs.Load(), ETA: -1, Done: final}
		if dt := now.Sub(lastAt).Seconds(); dt > 0 {
			p.Rate = float64(n-lastSent) / dt
		}
		lastAt, lastSent = now, n
		switch {
		case final:
			p.ETA = 0
		case limit.Events > 0 && p.Rate > 0:
			p.ETA = time.Duration(float64(int64(limit.Events)-n) / p.Rate * float64(time.Second))
		case limit.Events <= 0 && limit.Duration > 0:
			p.ETA = max(0, limit.Duration-p.Elapsed)
		}
		return p
	}
	for {
		select {
		case <-tick.C:
			s.Progress(snapshot(false))
		case <-stop:
			s.Progress(snapshot(true))
			return
		}
	}
}

func clipText(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// bucket is a token bucket: tokens accrue at rate per second up to burst.
// It is not safe for concurrent use.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// take waits until n tokens are there and takes them, or returns ctx's
// error. A take larger than the burst waits for the whole of it.
func (b *bucket) take(ctx context.Context, n float64) error {
	for {
		now := time.Now()
		if b.last.IsZero() {
			b.last = now
		}
		b.tokens = min(max(b.burst, n), b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
		if b.tokens >= n {
			b.tokens -= n
			return nil
		}
		wait := time.Duration((n - b.tokens) / b.rate * float64(time.Second))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
