package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// ClosedLoop has conns goroutines send back to back for warmup, then for
// duration, or until ctx is done: goroutine c calls send(c), which sends
// one request and reports whether it succeeded, again as soon as it
// returns. It returns how many requests succeeded with their answer
// received within duration after the warm-up: the window the peak rate is
// measured over.
func ClosedLoop(ctx context.Context, conns int, warmup, duration time.Duration, send func(c int) bool) (window uint64) {
	from := time.Now().Add(warmup)
	end := from.Add(duration)
	var total atomic.Uint64
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			var n uint64
			for ctx.Err() == nil && time.Now().Before(end) {
				if send(c) {
					if now := time.Now(); !now.Before(from) && now.Before(end) {
						n++
					}
				}
			}
			total.Add(n)
		})
	}
	wg.Wait()
	return total.Load()
}

// Schedule is an open-loop run: Rate×Duration requests, request i due at
// start + i/Rate, the start 20ms after the run's call, sent by Workers
// senders; those not sent by Duration+Timeout after the start are given
// up.
type Schedule struct {
	Rate     float64 // requests a second, above 0
	Duration time.Duration
	Timeout  time.Duration
	Workers  int
}

// scheduleLead is how long after OpenLoop's call its schedule starts, so
// that the first requests are not due before the workers are.
const scheduleLead = 20 * time.Millisecond

// OpenResult is the outcome of an open-loop run.
type OpenResult struct {
	Scheduled int
	Unsent    int             // scheduled requests not sent by the deadline
	Latencies []time.Duration // of the successful requests, from the due time to the answer
	Due       []time.Duration // of the same requests, in the same order: the due time since the schedule's start
	Lags      []time.Duration // of the sent requests, from the due time to the send
	// Waited counts the requests that found every connection busy when
	// due, and were sent when one was free: the server's stalls, as
	// opposed to the generator's lateness (EventLoop only).
	Waited int
}

// OpenLoop runs s: each worker takes the next scheduled request when it is
// free, waits until the request is due, unless it is late already, and
// calls send(w, i, due, now), w being the worker (0 to s.Workers-1), i the
// request (from 0), due its scheduled send time and now the actual one;
// send sends it and reports whether it succeeded. A request's latency
// counts from its due time, not from when it was sent: when every worker
// is busy the schedule does not wait, and the wait counts, so that neither
// a slow answer nor a late generator hides a stall (no coordinated
// omission). The run stops early when ctx is done; requests it did not
// send count as unsent.
func OpenLoop(ctx context.Context, s Schedule, send func(w int, i int64, due, now time.Time) bool) *OpenResult {
	n := int64(s.Rate * s.Duration.Seconds())
	start := time.Now().Add(scheduleLead)
	deadline := start.Add(s.Duration + s.Timeout)
	at := func(i int64) time.Time { return start.Add(time.Duration(float64(i) * float64(time.Second) / s.Rate)) }

	var next atomic.Int64
	latencies := make([][]time.Duration, s.Workers)
	dues := make([][]time.Duration, s.Workers)
	lags := make([][]time.Duration, s.Workers)
	var wg sync.WaitGroup
	for w := range s.Workers {
		latencies[w] = make([]time.Duration, 0, int(n)/s.Workers+16)
		dues[w] = make([]time.Duration, 0, int(n)/s.Workers+16)
		lags[w] = make([]time.Duration, 0, int(n)/s.Workers+16)
		wg.Go(func() {
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
				if send(w, i, due, now) {
					latencies[w] = append(latencies[w], time.Since(due))
					dues[w] = append(dues[w], due.Sub(start))
				}
				lags[w] = append(lags[w], now.Sub(due))
			}
		})
	}
	wg.Wait()
	res := &OpenResult{Scheduled: int(n)}
	for w := range s.Workers {
		res.Latencies = append(res.Latencies, latencies[w]...)
		res.Due = append(res.Due, dues[w]...)
		res.Lags = append(res.Lags, lags[w]...)
	}
	res.Unsent = int(n) - len(res.Lags)
	return res
}
