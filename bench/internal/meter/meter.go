// Package meter measures, for the load benchmarks under bench/, what a
// phase costs the machine and how long things take: the CPU time of this
// process and of all the others (from Linux's /proc/stat), this process's
// garbage collections and how long its goroutines waited for a core (from
// runtime/metrics), quantiles of durations kept in a slice or counted in
// a bucketed Histogram, the time spent in a Fiber app's handlers
// (HandlerTiming), and CPU and allocation profiles (StartProfile).
//
// It measures and leaves the formatting of the figures, which differs
// from benchmark to benchmark, to the programs.
package meter

import (
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runtime/metrics read by a Meter.
const (
	schedLatencies = "/sched/latencies:seconds"
	gcCycles       = "/gc/cycles/total:gc-cycles"
)

// Meter measures what a phase costs the machine: the cores this process
// and the others keep busy, how long this process's goroutines wait for a
// core, and its garbage collections. Start one with Start, read it with
// Stop.
type Meter struct {
	wall   time.Time
	own    time.Duration
	system time.Duration // every process's, from /proc/stat; 0 elsewhere
	rt     []metrics.Sample
}

// Start starts measuring.
func Start() *Meter {
	m := &Meter{wall: time.Now(), own: CPUTime(), system: SystemBusy(), rt: runtimeSamples()}
	metrics.Read(m.rt)
	return m
}

func runtimeSamples() []metrics.Sample {
	return []metrics.Sample{{Name: schedLatencies}, {Name: gcCycles}}
}

// Usage is what a Meter measured between Start and Stop.
type Usage struct {
	Wall time.Duration // elapsed
	Own  time.Duration // CPU time of this process, user and system
	// Load is the CPU time of the load generator's process, as given to
	// Stop: counted apart from the other processes'.
	Load time.Duration
	// System is the CPU time of every process, this one and the load
	// generator included, and what the hypervisor stole; 0 where /proc/stat
	// is not (see OtherCores).
	System time.Duration
	// SchedWaitP99 is the 99th percentile of how long this process's
	// goroutines waited for a core (the upper bound of the runtime's
	// histogram bucket holding it).
	SchedWaitP99 time.Duration
	GCs          uint64 // this process's garbage collection cycles
}

// Stop returns what was used since Start. load is the CPU time the load
// generator's process used meanwhile, if it runs in one of its own, which
// is counted apart from other processes'; 0 otherwise.
func (m *Meter) Stop(load time.Duration) Usage {
	wall := time.Since(m.wall)
	own, system := CPUTime()-m.own, SystemBusy()-m.system
	now := runtimeSamples()
	metrics.Read(now)
	u := Usage{Wall: wall, Own: own, Load: load}
	if m.system > 0 && system > 0 {
		u.System = system
	}
	if now[0].Value.Kind() == metrics.KindFloat64Histogram && m.rt[0].Value.Kind() == metrics.KindFloat64Histogram {
		u.SchedWaitP99 = histogramQuantile(m.rt[0].Value.Float64Histogram(), now[0].Value.Float64Histogram(), 0.99)
	}
	if now[1].Value.Kind() == metrics.KindUint64 && m.rt[1].Value.Kind() == metrics.KindUint64 {
		u.GCs = now[1].Value.Uint64() - m.rt[1].Value.Uint64()
	}
	return u
}

// Cores returns the cores this process kept busy on average.
func (u Usage) Cores() float64 { return float64(u.Own) / float64(u.Wall) }

// LoadCores returns the cores the load generator's process kept busy on
// average.
func (u Usage) LoadCores() float64 { return float64(u.Load) / float64(u.Wall) }

// OtherCores returns the cores the other processes (neither this one nor
// the load generator's) kept busy on average, never below 0, and whether
// it is known: a busy neighbour makes figures noisy.
func (u Usage) OtherCores() (float64, bool) {
	if u.System == 0 {
		return 0, false
	}
	return max(float64(u.System-u.Own-u.Load)/float64(u.Wall), 0), true
}

// histogramQuantile returns the upper bound of the bucket holding quantile
// q of what after recorded since before (the lower bound for the last,
// unbounded bucket), or 0 when nothing was.
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

// CPUTime returns the CPU time, user and system, this process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// SystemBusy returns the CPU time every process has used since boot, and
// what the hypervisor stole, from Linux's /proc/stat; 0 where there is
// none.
func SystemBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return procStatBusy(string(data))
}

// procStatBusy returns the busy time the first line of /proc/stat counts
// (in USER_HZ ticks, 100 a second on every common build): user, nice,
// system, irq, softirq and steal, leaving out idle and iowait; 0 when the
// line is not the one expected.
func procStatBusy(stat string) time.Duration {
	line, _, _ := strings.Cut(stat, "\n")
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
