package main

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Buckets of a histogram: 1µs wide up to 100ms, then one for the rest.
const (
	histBucket  = time.Microsecond
	histBuckets = 100_000
)

// histogram counts durations in 1µs buckets and keeps the largest. It is
// safe for concurrent use.
type histogram struct {
	buckets [histBuckets + 1]atomic.Uint64
	max     atomic.Int64
}

// record counts d.
func (h *histogram) record(d time.Duration) {
	h.buckets[min(int(d/histBucket), histBuckets)].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// reset forgets what was recorded.
func (h *histogram) reset() {
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
	h.max.Store(0)
}

// count returns how many durations were recorded.
func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// quantile returns the upper bound of the bucket holding quantile q of the
// recorded durations (the largest one for q = 1), or 0 when none was.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max.Load())
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i := range h.buckets {
		if seen += h.buckets[i].Load(); seen >= rank {
			return min(time.Duration(i+1)*histBucket, time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// handlerTiming is a Fiber middleware that records, while started, how long
// the rest of the handler chain takes for each of the timed paths, and for
// each path and type query parameter given to newHandlerTiming: the
// handler's work, its answer encoded, without HTTP parsing, writing and
// queueing for a connection. While stopped it costs an atomic load. It is
// safe for concurrent use.
type handlerTiming struct {
	on    atomic.Bool
	paths map[string]*histogram // fixed at construction
}

// newHandlerTiming times the given paths ("/v1/recommend") and paths with
// a type ("/v1/recommend?type=personal").
func newHandlerTiming(paths ...string) *handlerTiming {
	t := &handlerTiming{paths: map[string]*histogram{}}
	for _, p := range paths {
		t.paths[p] = new(histogram)
	}
	return t
}

// Middleware times the handlers after it.
func (t *handlerTiming) Middleware(c *fiber.Ctx) error {
	if !t.on.Load() {
		return c.Next()
	}
	h := t.paths[c.Path()]
	if h == nil {
		return c.Next()
	}
	start := time.Now()
	err := c.Next()
	took := time.Since(start)
	h.record(took)
	if typ := c.Query("type"); typ != "" {
		if typed := t.paths[c.Path()+"?type="+typ]; typed != nil {
			typed.record(took)
		}
	}
	return err
}

// Start forgets what was recorded and starts recording.
func (t *handlerTiming) Start() {
	for _, h := range t.paths {
		h.reset()
	}
	t.on.Store(true)
}

// Stop stops recording.
func (t *handlerTiming) Stop() { t.on.Store(false) }

// Of returns the histogram of path.
func (t *handlerTiming) Of(path string) *histogram { return t.paths[path] }
