package meter

import (
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Quantile returns quantile q (0 < q <= 1) of ds by nearest rank: the
// smallest of ds that at least a share q of ds do not exceed. It sorts ds
// unless they are sorted already, and returns 0 when ds is empty.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// Histogram counts durations in buckets of a fixed width, the last of
// which holds everything beyond the others, and keeps the largest. It is
// safe for concurrent use: recording costs an atomic add and, for a new
// largest, a compare-and-swap.
type Histogram struct {
	width   time.Duration
	buckets []atomic.Uint64
	max     atomic.Int64
}

// NewHistogram returns a histogram of n buckets of width, covering
// durations up to n×width, and one more for the rest.
func NewHistogram(width time.Duration, n int) *Histogram {
	return &Histogram{width: width, buckets: make([]atomic.Uint64, n+1)}
}

// Record counts d.
func (h *Histogram) Record(d time.Duration) {
	last := len(h.buckets) - 1
	h.buckets[min(int(d/h.width), last)].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Reset forgets what was recorded.
func (h *Histogram) Reset() {
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
	h.max.Store(0)
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// Max returns the largest duration recorded, 0 when none was.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// UpperBound returns the upper bound of the bucket holding quantile q of
// the recorded durations by nearest rank, or 0 when none was: a bound
// within one bucket's width of the true quantile (for the last bucket, of
// its lower bound).
func (h *Histogram) UpperBound(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i := range h.buckets {
		if seen += h.buckets[i].Load(); seen >= rank {
			return time.Duration(i+1) * h.width
		}
	}
	return time.Duration(len(h.buckets)-1) * h.width
}

// Quantile returns UpperBound(q) capped at the largest duration recorded,
// which it is for q >= 1: never more than was seen. It returns 0 when
// nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	if q >= 1 {
		return h.Max()
	}
	return min(h.UpperBound(q), h.Max())
}

// HandlerTiming is a Fiber middleware that records, while started, how
// long the rest of the handler chain takes for requests to each of the
// paths given to NewHandlerTiming, and for each path with a type query
// parameter given there: the handler's work, its answer encoded, without
// HTTP parsing, writing and queueing for a connection or a core. While
// stopped it costs an atomic load a request. It is safe for concurrent
// use.
type HandlerTiming struct {
	on    atomic.Bool
	paths map[string]*Histogram // fixed at construction
	typed bool                  // some path has a type
}

// NewHandlerTiming times the given paths ("/v1/recommend") and paths with
// a type ("/v1/recommend?type=personal"), each in a histogram of n
// buckets of width (see NewHistogram).
func NewHandlerTiming(width time.Duration, n int, paths ...string) *HandlerTiming {
	t := &HandlerTiming{paths: map[string]*Histogram{}}
	for _, p := range paths {
		t.paths[p] = NewHistogram(width, n)
		t.typed = t.typed || strings.Contains(p, "?type=")
	}
	return t
}

// Middleware times the handlers after it.
func (t *HandlerTiming) Middleware(c *fiber.Ctx) error {
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
	h.Record(took)
	if !t.typed {
		return err
	}
	if typ := c.Query("type"); typ != "" {
		if typed := t.paths[c.Path()+"?type="+typ]; typed != nil {
			typed.Record(took)
		}
	}
	return err
}

// Start forgets what was recorded and starts recording.
func (t *HandlerTiming) Start() {
	for _, h := range t.paths {
		h.Reset()
	}
	t.on.Store(true)
}

// Stop stops recording.
func (t *HandlerTiming) Stop() { t.on.Store(false) }

// Of returns the histogram of path, nil if path is not timed.
func (t *HandlerTiming) Of(path string) *Histogram { return t.paths[path] }
