package main

import (
	"fmt"
	"math"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters is what a member's registry says: each series' value by name
// and labels ("ecrm_profiler_records_total{kind=hit}"), and, for
// histograms, their sample count and sum under name_count and name_sum.
type counters map[string]float64

// gather reads reg's counters, gauges and histograms.
func gather(reg prometheus.Gatherer) (counters, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	c := counters{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if labels := m.GetLabel(); len(labels) > 0 {
				parts := make([]string, len(labels))
				for i, l := range labels {
					parts[i] = l.GetName() + "=" + l.GetValue()
				}
				name += "{" + strings.Join(parts, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				c[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				c[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				c[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
				c[name+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return c, nil
}

// records returns the profiler's records counter for kind.
func (c counters) records(kind string) float64 {
	return c["ecrm_profiler_records_total{kind="+kind+"}"]
}

// recordsTotal returns the profiler's records counter summed over kinds.
func (c counters) recordsTotal() float64 {
	var sum float64
	for name, v := range c {
		if strings.HasPrefix(name, "ecrm_profiler_records_total{") {
			sum += v
		}
	}
	return sum
}

// recordKinds lists the records counter's kinds and values.
func (c counters) recordKinds() string {
	var parts []string
	for name, v := range c {
		if kind, ok := strings.CutPrefix(name, "ecrm_profiler_records_total{kind="); ok {
			parts = append(parts, fmt.Sprintf("%s=%.0f", strings.TrimSuffix(kind, "}"), v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
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
// and other processes keep busy, and the garbage collections.
type meter struct {
	wall   time.Time
	own    time.Duration
	system time.Duration // every process's, from /proc/stat; 0 elsewhere
	gcs    uint64
}

const gcCycles = "/gc/cycles/total:gc-cycles"

func startMeter() *meter {
	return &meter{wall: time.Now(), own: cpuTime(), system: systemBusy(), gcs: readGCs()}
}

// usage is what a meter measured.
type usage struct {
	wall, own  time.Duration // elapsed; CPU time of this process
	otherCores float64       // cores other processes kept busy; -1 unknown
	gcs        uint64
}

// stop returns what was used since startMeter.
func (m *meter) stop() usage {
	u := usage{wall: time.Since(m.wall), own: cpuTime() - m.own, otherCores: -1, gcs: readGCs() - m.gcs}
	if system := systemBusy() - m.system; m.system > 0 && system > 0 {
		u.otherCores = max(float64(system-u.own)/float64(u.wall), 0)
	}
	return u
}

// String returns "cpu_cores=… other_processes_cores=… gc_cycles=…".
func (u usage) String() string {
	s := fmt.Sprintf("cpu_cores=%.2f", float64(u.own)/float64(u.wall))
	if u.otherCores >= 0 {
		s += fmt.Sprintf(" other_processes_cores=%.2f", u.otherCores)
	}
	return s + fmt.Sprintf(" gc_cycles=%d", u.gcs)
}

func readGCs() uint64 {
	s := []metrics.Sample{{Name: gcCycles}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
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

// startProfile starts a CPU profile into path, if set, and returns the
// function that stops it, which may be called more than once.
func startProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return sync.OnceValue(func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}), nil
}
