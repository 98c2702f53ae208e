package main

import (
	"fmt"
	"math"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Buckets of handlerTiming: 10µs wide up to 100ms, then one for the rest.
const (
	timingBucket  = 10 * time.Microsecond
	timingBuckets = 10_000
)

// handlerTiming is a Fiber middleware that records, while started, how long
// the rest of the handler chain takes: the collector's work without HTTP
// parsing, writing and queueing for a core. It costs an atomic load per
// request while stopped. It is safe for concurrent use.
type handlerTiming struct {
	on      atomic.Bool
	buckets [timingBuckets + 1]atomic.Uint64
}

// Middleware times the handlers after it.
func (t *handlerTiming) Middleware(c *fiber.Ctx) error {
	if !t.on.Load() {
		return c.Next()
	}
	start := time.Now()
	err := c.Next()
	t.buckets[min(int(time.Since(start)/timingBucket), timingBuckets)].Add(1)
	return err
}

// Start starts recording.
func (t *handlerTiming) Start() { t.on.Store(true) }

// Stop stops recording.
func (t *handlerTiming) Stop() { t.on.Store(false) }

// Quantile returns the upper bound of the bucket holding quantile q of the
// recorded times, or 0 when none was recorded.
func (t *handlerTiming) Quantile(q float64) time.Duration {
	var total uint64
	for i := range t.buckets {
		total += t.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i := range t.buckets {
		if seen += t.buckets[i].Load(); seen >= rank {
			return time.Duration(i+1) * timingBucket
		}
	}
	return timingBuckets * timingBucket
}

// quantile returns quantile q of ds by nearest rank, sorting ds; 0 when
// ds is empty.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// meter measures what a phase costs the machine: the cores this process
// and other processes keep busy, how long goroutines wait for a core, and
// the garbage collections.
type meter struct {
	wall   time.Time
	own    time.Duration
	system time.Duration // every process's, from /proc/stat; 0 elsewhere
	rt     []metrics.Sample
}

// runtime/metrics read by a meter.
const (
	schedLatencies = "/sched/latencies:seconds"
	gcCycles       = "/gc/cycles/total:gc-cycles"
)

func startMeter() *meter {
	m := &meter{wall: time.Now(), own: cpuTime(), system: systemBusy(),
		rt: []metrics.Sample{{Name: schedLatencies}, {Name: gcCycles}}}
	metrics.Read(m.rt)
	return m
}

// usage is what a meter measured.
type usage struct {
	own               time.Duration // CPU time of this process
	cores, otherCores float64
	loadCores         float64 // the load generator's process
	schedWaitP99      time.Duration
	gcs               uint64
	hasOther, hasLoad bool
}

func (u usage) String() string {
	s := fmt.Sprintf("cpu_cores=%.2f", u.cores)
	if u.hasLoad {
		s += fmt.Sprintf(" load_generator_cores=%.2f", u.loadCores)
	}
	if u.hasOther {
		s += fmt.Sprintf(" other_processes_cores=%.2f", u.otherCores)
	}
	return s + fmt.Sprintf(" sched_wait_p99_ms=%.3f gc_cycles=%d", ms(u.schedWaitP99), u.gcs)
}

// stop returns what was used since startMeter. load is the CPU time the
// load generator's process used meanwhile, if any, which is counted apart
// from other processes'.
func (m *meter) stop(load time.Duration) usage {
	wall := time.Since(m.wall)
	own, system := cpuTime()-m.own, systemBusy()-m.system
	now := []metrics.Sample{{Name: schedLatencies}, {Name: gcCycles}}
	metrics.Read(now)
	u := usage{own: own, cores: float64(own) / float64(wall)}
	if load > 0 {
		u.hasLoad = true
		u.loadCores = float64(load) / float64(wall)
	}
	if m.system > 0 && system > 0 {
		u.hasOther = true
		u.otherCores = max(float64(system-own-load)/float64(wall), 0)
	}
	if now[0].Value.Kind() == metrics.KindFloat64Histogram && m.rt[0].Value.Kind() == metrics.KindFloat64Histogram {
		u.schedWaitP99 = histogramQuantile(m.rt[0].Value.Float64Histogram(), now[0].Value.Float64Histogram(), 0.99)
	}
	if now[1].Value.Kind() == metrics.KindUint64 && m.rt[1].Value.Kind() == metrics.KindUint64 {
		u.gcs = now[1].Value.Uint64() - m.rt[1].Value.Uint64()
	}
	return u
}

// histogramQuantile returns the upper bound of the bucket holding quantile
// q of what after recorded since before.
func histogramQuantile(before, after *metrics.Float64Histogram, q float64) time.Duration {
	var total uint64
	for i := range after.Counts {
		total += after.Counts[i] - before.Counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i := range after.Counts {
		if seen += after.Counts[i] - before.Counts[i]; seen >= rank {
			upper := after.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = after.Buckets[i]
			}
			return time.Duration(upper * float64(time.Second))
		}
	}
	return 0
}

// cpuTime returns the CPU time, user and system, this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// systemBusy returns the CPU time every process has used since boot, and
// what the hypervisor stole, from Linux's /proc/stat (in USER_HZ ticks,
// 100 a second on every common build); 0 where there is none.
func systemBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var ticks int64
	// user nice system idle iowait irq softirq steal: all but idle, iowait.
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
