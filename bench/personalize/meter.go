package main

import (
	"fmt"
	"math"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// meter measures what a phase costs the machine: the cores this process,
// the load generator and other processes keep busy, and the garbage
// collections of this process.
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
	own              time.Duration // CPU time of this process
	cores, loadCores float64
	otherCores       float64
	hasOther         bool
	gcs              uint64
}

func (u usage) String() string {
	s := fmt.Sprintf("server_cores=%.2f load_generator_cores=%.2f", u.cores, u.loadCores)
	if u.hasOther {
		s += fmt.Sprintf(" other_processes_cores=%.2f", u.otherCores)
	}
	return s + fmt.Sprintf(" gc_cycles=%d", u.gcs)
}

// stop returns what was used since startMeter; load is the CPU time the
// load generator's process used meanwhile.
func (m *meter) stop(load time.Duration) usage {
	wall := time.Since(m.wall)
	own, system := cpuTime()-m.own, systemBusy()-m.system
	u := usage{own: own, cores: float64(own) / float64(wall), loadCores: float64(load) / float64(wall), gcs: readGCs() - m.gcs}
	if m.system > 0 && system > 0 {
		u.hasOther = true
		u.otherCores = max(float64(system-own-load)/float64(wall), 0)
	}
	return u
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
