package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// collector is a stand-in for the real one: it decodes batches as the
// collector does and answers in its shape, or with status when set.
type collector struct {
	status int
	mu     sync.Mutex
	reqs   []*http.Request
	events int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.mu.Unlock()
	if c.status != 0 {
		w.WriteHeader(c.status)
		io.WriteString(w, `{"error":"nope"}`)
		return
	}
	b, err := event.DecodeBatch(body)
	if err != nil {
		http.Error(w, `{"error":"malformed"}`, http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.events += len(b.Events)
	c.mu.Unlock()
	rejected := b.Rejected
	if rejected == nil {
		rejected = []event.Rejection{}
	}
	json.NewEncoder(w).Encode(map[string]any{"accepted": len(b.Events), "rejected": rejected})
}

func TestSenderCountsAnswers(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	g := mustGenerator(t, Config{Seed: 1, Events: 300, SiteURL: "https://shop.example/"})
	var progress []Progress
	s := &Sender{Target: srv.URL, WriteKey: "key-1", Rate: 5000, Concurrency: 4, ProgressEvery: 20 * time.Millisecond,
		Progress: func(p Progress) { progress = append(progress, p) }}
	res, err := s.Run(context.Background(), g, Limit{Events: 300})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Sent != 300 || res.Accepted != 300 || c.events != 300 || res.Rejected+res.Failed+res.Errors != 0 {
		t.Errorf("result %+v, collector got %d events; want 300 sent and accepted", res, c.events)
	}
	if res.Requests != len(c.reqs) || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("result %+v for %d requests", res, len(c.reqs))
	}
	r := c.reqs[0]
	if u, _, _ := r.BasicAuth(); u != "key-1" || r.URL.Path != "/v1/batch" || r.Method != http.MethodPost {
		t.Errorf("request %s %s with user %q", r.Method, r.URL.Path, u)
	}
	if r.Header.Get("Origin") != "https://shop.example" || !strings.HasPrefix(r.Header.Get("User-Agent"), "Mozilla/5.0") {
		t.Errorf("headers %v", r.Header)
	}
	if len(progress) == 0 || !progress[len(progress)-1].Done || progress[len(progress)-1].Sent != 300 {
		t.Errorf("progress %+v, want a last report, done, of 300 events", progress)
	}
}

func TestSenderRefused(t *testing.T) {
	c := &collector{status: http.StatusUnauthorized}
	srv := httptest.NewServer(c)
	defer srv.Close()
	s := &Sender{Target: srv.URL, WriteKey: "wrong", Rate: 1000, Concurrency: 2}
	res, err := s.Run(context.Background(), mustGenerator(t, Config{}), Limit{Duration: 10 * time.Second})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Run = %v, want ErrRefused", err)
	}
	if res.Elapsed > 5*time.Second || res.Rejected == 0 || res.Accepted != 0 || !strings.Contains(res.FirstError, "401") {
		t.Errorf("result %+v: want an early stop with the 401 counted", res)
	}
}

func TestSenderServerErrors(t *testing.T) {
	c := &collector{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(c)
	defer srv.Close()
	s := &Sender{Target: srv.URL, WriteKey: "k", Rate: 5000}
	res, err := s.Run(context.Background(), mustGenerator(t, Config{}), Limit{Events: 100})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Errors != res.Requests || res.Failed != 100 || res.Sent != 100 || !strings.HasPrefix(res.FirstError, "503") {
		t.Errorf("result %+v: want every request an error", res)
	}
}

// TestSenderStopsOnCancel cancels a run whose requests are slow: it
// returns soon, with the requests in flight counted.
func TestSenderStopsOnCancel(t *testing.T) {
	var started atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, `{"accepted":1,"rejected":[]}`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	s := &Sender{Target: srv.URL, WriteKey: "k", Rate: 1000, Concurrency: 3}
	res, err := s.Run(ctx, mustGenerator(t, Config{}), Limit{Duration: time.Minute})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Elapsed > 5*time.Second || res.Requests != int(started.Load()) || res.Requests == 0 || res.Errors != 0 {
		t.Errorf("result %+v with %d requests started: want an early stop, in-flight requests answered", res, started.Load())
	}
}

func TestSenderUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	target := srv.URL
	srv.Close() // nothing listens there now
	s := &Sender{Target: target, WriteKey: "k", Rate: 1000}
	res, err := s.Run(context.Background(), mustGenerator(t, Config{}), Limit{Duration: 20 * time.Second})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Run = %v, want ErrUnreachable", err)
	}
	if res.Elapsed > 10*time.Second || res.Accepted != 0 || res.Errors < unreachableAfter {
		t.Errorf("result %+v: want an early stop after %d failures", res, unreachableAfter)
	}
}

func TestSenderBadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:8080", "://x"} {
		s := &Sender{Target: target, Rate: 1}
		if _, err := s.Run(context.Background(), mustGenerator(t, Config{}), Limit{Events: 1}); err == nil {
			t.Errorf("Run with target %q: no error", target)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}}
	for _, tc := range tests {
		got := h.quantile(tc.q)
		if d := float64(got-tc.want) / float64(tc.want); d < -0.01 || d > 0.06 {
			t.Errorf("quantile(%v) = %v, want %v within 5%%", tc.q, got, tc.want)
		}
	}
	var o histogram
	o.add(2 * time.Second)
	h.merge(&o)
	if h.n != 1001 || h.max != 2*time.Second {
		t.Errorf("merged: n %d max %v", h.n, h.max)
	}
}

func TestBucket(t *testing.T) {
	b := bucket{rate: 2000, burst: 10}
	start := time.Now()
	for range 100 {
		if err := b.take(context.Background(), 5); err != nil {
			t.Fatal(err)
		}
	}
	// 500 tokens at 2000/s: a quarter second, less the burst.
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("500 tokens at 2000/s took %v, want about 250ms", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&bucket{rate: 1, burst: 1}).take(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("take on a cancelled context = %v", err)
	}
}

func TestWriteSummary(t *testing.T) {
	var sb strings.Builder
	res := Result{Elapsed: 3 * time.Second, Requests: 10, Sent: 30, Accepted: 28, Rejected: 2, P50: 1200 * time.Microsecond,
		P99: 8 * time.Millisecond, Max: 9 * time.Millisecond, Rate: 10, Achieved: 10, FirstError: "rejected: x"}
	if err := WriteSummary(&sb, res, Stats{Sessions: 3, Orders: 1, Revenue: 12.5, Currency: "EUR"}, 60); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sent       30 events in 10 requests", "accepted   28", "rejected   2", "errors     0 requests",
		"p50 1.2ms  p99 8ms", "1 orders, 12.50 EUR", "first error: rejected: x"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sb.String())
		}
	}
}
