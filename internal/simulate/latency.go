package simulate

import (
	"math"
	"time"
)

// Latency histogram: logarithmic buckets from 10µs, each 5% wider than
// the one before, up to about a minute; quantiles are within 5%.
const (
	histBase    = 10 * time.Microsecond
	histGrowth  = 1.05
	histBuckets = 330
)

// histogram counts durations in logarithmic buckets, in bounded memory.
// The zero value is empty and ready. It is not safe for concurrent use.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

func (h *histogram) add(d time.Duration) {
	i := 0
	if d > histBase {
		i = min(histBuckets-1, int(math.Log(float64(d)/float64(histBase))/math.Log(histGrowth))+1)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the duration below which a share q of the samples
// fall, or 0 when there are none.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(h.n, rank))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == 0 {
				return min(histBase, h.max)
			}
			// The bucket's upper bound, never above the largest sample.
			up := float64(histBase) * math.Pow(histGrowth, float64(i))
			return min(time.Duration(up), h.max)
		}
	}
	return h.max
}
