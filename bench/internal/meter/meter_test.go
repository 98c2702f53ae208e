package meter

import (
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func TestQuantile(t *testing.T) {
	if got := Quantile(nil, 0.99); got != 0 {
		t.Errorf("Quantile(nil) = %v, want 0", got)
	}
	// 1..100 ms, shuffled: nearest rank is the ceil(q×n)-th smallest.
	var ds []time.Duration
	for i := range 100 {
		ds = append(ds, time.Duration((i*37)%100+1)*time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Millisecond}, // rank 0 counts as the first
		{0.001, time.Millisecond},
		{0.5, 50 * time.Millisecond},
		{0.501, 51 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{1, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := Quantile(ds, tc.q); got != tc.want {
			t.Errorf("Quantile(q=%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := Quantile([]time.Duration{7}, 0.5); got != 7 {
		t.Errorf("Quantile of one = %v, want it", got)
	}
}

func TestHistogram(t *testing.T) {
	h := NewHistogram(time.Microsecond, 100_000)
	if h.Quantile(0.5) != 0 || h.UpperBound(0.5) != 0 || h.Count() != 0 {
		t.Fatal("an empty histogram has quantiles")
	}
	for d := time.Microsecond; d <= 100*time.Microsecond; d += time.Microsecond {
		h.Record(d)
	}
	h.Record(time.Second) // past the last bucket
	if h.Count() != 101 || h.Max() != time.Second {
		t.Fatalf("Count, Max = %d, %v; want 101, 1s", h.Count(), h.Max())
	}
	tests := []struct {
		q          float64
		quant, ubd time.Duration
	}{
		// Rank 51 of 101 is 51µs, in the bucket [51µs, 52µs).
		{0.5, 52 * time.Microsecond, 52 * time.Microsecond},
		{0.99, 101 * time.Microsecond, 101 * time.Microsecond},
		// The largest is in the last bucket, from 100ms: Quantile knows
		// it, UpperBound says where that bucket ends.
		{1, time.Second, 100_001 * time.Microsecond},
	}
	for _, tc := range tests {
		if got := h.Quantile(tc.q); got != tc.quant {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.quant)
		}
		if got := h.UpperBound(tc.q); got != tc.ubd {
			t.Errorf("UpperBound(%v) = %v, want %v", tc.q, got, tc.ubd)
		}
	}

	// Capped at the largest when it is in the quantile's bucket.
	h.Reset()
	h.Record(3*time.Microsecond + 200)
	if got, ub := h.Quantile(0.5), h.UpperBound(0.5); got != 3*time.Microsecond+200 || ub != 4*time.Microsecond {
		t.Errorf("Quantile, UpperBound of one 3.2µs = %v, %v; want 3.2µs, 4µs", got, ub)
	}
}

func TestHistogramQuantile(t *testing.T) {
	// Buckets [0,1ms) [1ms,2ms) [2ms,4ms) [4ms,+Inf), in seconds.
	buckets := []float64{0, 0.001, 0.002, 0.004, math.Inf(1)}
	before := &metrics.Float64Histogram{Counts: []uint64{5, 5, 5, 5}, Buckets: buckets}
	after := &metrics.Float64Histogram{Counts: []uint64{5 + 90, 5 + 8, 5 + 1, 5 + 1}, Buckets: buckets}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, time.Millisecond},      // rank 50 of the 100 since before: first bucket
		{0.98, 2 * time.Millisecond}, // rank 98: second
		{0.99, 4 * time.Millisecond}, // rank 99: third
		{1, 4 * time.Millisecond},    // the unbounded bucket: its lower bound
	}
	for _, tc := range tests {
		if got := histogramQuantile(before, after, tc.q); got != tc.want {
			t.Errorf("histogramQuantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := histogramQuantile(before, before, 0.99); got != 0 {
		t.Errorf("histogramQuantile of nothing new = %v, want 0", got)
	}
}

func TestProcStatBusy(t *testing.T) {
	stat := "cpu  100 20 30 5000 40 1 2 3 0 0\ncpu0 50 10 15 2500 20 0 1 1 0 0\n"
	// user+nice+system+irq+softirq+steal = 156 ticks of 10ms.
	if got, want := procStatBusy(stat), 1560*time.Millisecond; got != want {
		t.Errorf("procStatBusy = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8"} {
		if got := procStatBusy(bad); got != 0 {
			t.Errorf("procStatBusy(%q) = %v, want 0", bad, got)
		}
	}
}

func TestMeter(t *testing.T) {
	m := Start()
	for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
	}
	u := m.Stop(10 * time.Millisecond)
	if u.Wall < 30*time.Millisecond || u.Own <= 0 || u.Cores() <= 0 {
		t.Errorf("busy 30ms: %+v, cores %.2f", u, u.Cores())
	}
	if got := u.LoadCores(); got <= 0 || got > 1.0/3 {
		t.Errorf("LoadCores = %.2f for 10ms of load in %v", got, u.Wall)
	}
	if other, ok := u.OtherCores(); ok && other < 0 {
		t.Errorf("OtherCores = %v", other)
	}
	if _, ok := (Usage{Wall: time.Second}).OtherCores(); ok {
		t.Error("OtherCores known without /proc/stat")
	}
	u = Usage{Wall: time.Second, Own: 500 * time.Millisecond, Load: 300 * time.Millisecond, System: 1200 * time.Millisecond}
	if other, ok := u.OtherCores(); !ok || math.Abs(other-0.4) > 1e-9 {
		t.Errorf("OtherCores = %v, %v; want 0.4", other, ok)
	}
}

func TestHandlerTiming(t *testing.T) {
	tm := NewHandlerTiming(time.Microsecond, 1000, "/a", "/a?type=x")
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(tm.Middleware)
	app.Get("/*", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	get := func(target string) {
		t.Helper()
		if _, err := app.Test(httptest.NewRequest("GET", target, nil)); err != nil {
			t.Fatal(err)
		}
	}
	get("/a") // stopped: not timed
	tm.Start()
	get("/a?type=x")
	get("/a?type=y")
	get("/b")
	tm.Stop()
	get("/a")
	if n := tm.Of("/a").Count(); n != 2 {
		t.Errorf("/a timed %d times, want 2", n)
	}
	if n := tm.Of("/a?type=x").Count(); n != 1 {
		t.Errorf("/a?type=x timed %d times, want 1", n)
	}
	if tm.Of("/b") != nil {
		t.Error("/b has a histogram")
	}
	tm.Start() // forgets
	if n := tm.Of("/a").Count(); n != 0 {
		t.Errorf("after Start, /a holds %d", n)
	}
}

func TestStartProfile(t *testing.T) {
	stop, err := StartProfile("", "")
	if err != nil || stop() != nil {
		t.Fatalf("StartProfile without files: %v", err)
	}
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	stop, err = StartProfile(cpu, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil { // a second call does nothing
		t.Fatal(err)
	}
	for _, f := range []string{cpu, mem, mem + ".base"} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v, %v", f, fi, err)
		}
	}
}
