package loadgen

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedLoop(t *testing.T) {
	var sent, ok atomic.Uint64
	var mu sync.Mutex
	seen := map[int]bool{}
	start := time.Now()
	window := ClosedLoop(context.Background(), 4, 50*time.Millisecond, 100*time.Millisecond, func(c int) bool {
		mu.Lock()
		seen[c] = true
		mu.Unlock()
		time.Sleep(time.Millisecond)
		// One request in two fails: it never counts in the window.
		if sent.Add(1)%2 == 0 {
			return false
		}
		ok.Add(1)
		return true
	})
	took := time.Since(start)
	if len(seen) != 4 {
		t.Errorf("goroutines that sent: %v, want 0..3", seen)
	}
	if took < 150*time.Millisecond || took > 2*time.Second {
		t.Errorf("ran for %v, want warm-up and duration, 150ms", took)
	}
	// The warm-up's successes are not in the window.
	if window == 0 || window >= ok.Load() {
		t.Errorf("window = %d of %d successes, want some but not all", window, ok.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	if w := ClosedLoop(ctx, 1, 0, time.Hour, func(int) bool { calls++; return true }); w != 0 || calls != 0 {
		t.Errorf("cancelled: window %d after %d calls, want none", w, calls)
	}
}

// TestOpenLoopSchedule checks that every request is sent once, when due,
// whatever worker takes it.
func TestOpenLoopSchedule(t *testing.T) {
	const rate = 1000
	var mu sync.Mutex
	dues := map[int64]time.Time{}
	var late atomic.Int64
	res := OpenLoop(context.Background(), Schedule{Rate: rate, Duration: 200 * time.Millisecond, Timeout: time.Second, Workers: 8},
		func(w int, i int64, due, now time.Time) bool {
			if w < 0 || w >= 8 {
				t.Errorf("worker %d", w)
			}
			if now.Before(due) {
				late.Add(1)
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := dues[i]; dup {
				t.Errorf("request %d sent twice", i)
			}
			dues[i] = due
			return i%10 != 0 // one in ten fails
		})
	if late.Load() > 0 {
		t.Errorf("%d requests sent before they were due", late.Load())
	}
	if res.Scheduled != 200 || res.Unsent != 0 || len(dues) != 200 || len(res.Lags) != 200 {
		t.Fatalf("scheduled %d, unsent %d, sent %d, lags %d; want 200 sent", res.Scheduled, res.Unsent, len(dues), len(res.Lags))
	}
	if len(res.Latencies) != 180 {
		t.Errorf("%d latencies, want one per success, 180", len(res.Latencies))
	}
	// Request i is due i/rate after request 0.
	for i := int64(1); i < 200; i++ {
		if d := dues[i].Sub(dues[0]); d != time.Duration(i)*time.Second/rate {
			t.Fatalf("request %d due %v after the first, want %v", i, d, time.Duration(i)*time.Second/rate)
		}
	}
	for _, l := range res.Lags {
		if l < 0 {
			t.Fatalf("negative lag %v", l)
		}
	}
}

// TestOpenLoopCoordinatedOmission checks that a stalled server shows in
// the latencies of the requests due while it stalled, not only in the
// one it stalled on.
func TestOpenLoopCoordinatedOmission(t *testing.T) {
	// One worker, a request every 5ms; the first takes 50ms.
	res := OpenLoop(context.Background(), Schedule{Rate: 200, Duration: 100 * time.Millisecond, Timeout: time.Second, Workers: 1},
		func(_ int, i int64, _, _ time.Time) bool {
			if i == 0 {
				time.Sleep(50 * time.Millisecond)
			}
			return true
		})
	if res.Scheduled != 20 || len(res.Latencies) != 20 {
		t.Fatalf("scheduled %d, timed %d; want 20", res.Scheduled, len(res.Latencies))
	}
	lat := slices.Clone(res.Latencies)
	slices.Sort(lat)
	// Requests 1..9 were due during the stall: each waited for it.
	if lat[10] < 5*time.Millisecond {
		t.Errorf("latencies %v: the stall is hidden", res.Latencies)
	}
	if lag := slices.Max(res.Lags); lag < 40*time.Millisecond {
		t.Errorf("largest dispatch lag %v, want about 45ms", lag)
	}
	// Each latency goes with its request's due time: the request due at
	// d < 50ms waited for the stall, until 50ms at least.
	if len(res.Due) != len(res.Latencies) {
		t.Fatalf("%d due times for %d latencies", len(res.Due), len(res.Latencies))
	}
	for i, d := range res.Due {
		if d%(5*time.Millisecond) != 0 || d < 0 || d >= 100*time.Millisecond {
			t.Fatalf("due time %v is not on the schedule", d)
		}
		if l := res.Latencies[i]; d < 45*time.Millisecond && l < 50*time.Millisecond-d {
			t.Errorf("the request due at %v took %v; it waited for the stall until 50ms at least", d, l)
		}
	}
}

func TestWindowQuantiles(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name     string
		lat, due []time.Duration
		width, d time.Duration
		want     []time.Duration
	}{
		{"one window", []time.Duration{ms(3), ms(1), ms(2)}, []time.Duration{ms(0), ms(1), ms(2)}, ms(10), ms(10), []time.Duration{ms(3)}},
		{"by due time, not by order", []time.Duration{ms(9), ms(1), ms(8), ms(2)}, []time.Duration{ms(15), ms(1), ms(12), ms(9)}, ms(10), ms(20), []time.Duration{ms(2), ms(9)}},
		{"a shorter last window", []time.Duration{ms(1), ms(7)}, []time.Duration{ms(5), ms(24)}, ms(10), ms(25), []time.Duration{ms(1), 0, ms(7)}},
		{"answered after the end", []time.Duration{ms(4)}, []time.Duration{ms(30)}, ms(10), ms(20), []time.Duration{0, ms(4)}},
		{"nothing", nil, nil, ms(10), ms(20), []time.Duration{0, 0}},
	} {
		got := WindowQuantiles(tc.lat, tc.due, tc.width, tc.d, 0.99)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// The p99 of 100 latencies in a window is the 99th smallest.
	lat, due := make([]time.Duration, 100), make([]time.Duration, 100)
	for i := range lat {
		lat[i], due[i] = ms(100-i), ms(i%10)
	}
	if got := WindowQuantiles(lat, due, ms(10), ms(10), 0.99); got[0] != ms(99) {
		t.Errorf("p99 of 1..100ms: %v, want 99ms", got[0])
	}
}

// TestOpenLoopDeadline checks that requests not sent by the schedule's
// end plus the timeout count as unsent.
func TestOpenLoopDeadline(t *testing.T) {
	res := OpenLoop(context.Background(), Schedule{Rate: 100, Duration: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, Workers: 1},
		func(int, int64, time.Time, time.Time) bool {
			time.Sleep(100 * time.Millisecond)
			return true
		})
	// The deadline is 150ms after the start. The one worker sends request
	// 0 when due, request 1 (late) at 100ms, and takes request 2 at 200ms,
	// past the deadline: it and the other seven are given up.
	if res.Scheduled != 10 || res.Unsent != 10-len(res.Lags) || len(res.Lags) < 1 || len(res.Lags) > 2 {
		t.Errorf("scheduled %d, sent %d, unsent %d", res.Scheduled, len(res.Lags), res.Unsent)
	}
}
