// Command profiler is the benchmark of ecrm's profiler: how many hits a
// second one profiler member turns into profiles on this machine, and how
// soon a hit sent to the collector can be read back from personalize's
// local copy of the profiles at a steady rate.
//
// Everything runs in this process on 127.0.0.1, wired as `ecrm run` wires
// it (cmd/ecrm/serve.go), each phase with its own embedded Kafka-protocol
// broker (kfake), topics of 8 partitions and Pebble stores in a temporary
// directory that is removed afterwards. The hits are realistic: about
// 20,000 visitors on browsers (no bots) with page views, Product Viewed
// with a category, Product Added, identify calls with a user id and an
// email beside the anonymous id (so that anonymous profiles merge into
// users' and later hits are forwarded), and a few Order Completed; each
// with a unique messageId.
//
//  1. Throughput. -events hits are written straight to the hits topic as
//     the collector writes them (the JSON of event.Event with receivedAt,
//     siteId "demo", visitorId, ip, ua and bot set; keyed by Event.Key; lz4
//     like the relay), in big synchronous batches. Then one profiler member
//     starts, with its own store and a Prometheus registry, and is timed
//     until the offset it has committed to its store for every partition
//     is past the last pre-produced hit: hits_committed_s, counted from its
//     first processed record (ecrm_profiler_records_total first above
//     zero), so the group join, printed apart, is left out.
//     profiler_events_per_s is the hits divided by that time. Beside it:
//     the time until the records counter said every hit was applied in
//     memory (hits_counted_s), and until the merge, absorb and forward
//     records the hits caused were committed too (settled_s). The
//     counter must end at exactly -events hits, with no bot, invalid or
//     duplicate.
//  2. Freshness. The full path: the collector on a loopback Fiber listener
//     (web.NewApp) with the relay and its spool, the profiler, and the view
//     (personalize's local copy of profiles and identities). A load
//     generator in this process (the open loop of bench/internal/loadgen,
//     which the other benchmarks share) sends single-event POST /v1/batch
//     requests (write key "demo" in a text/plain body, a browser's
//     User-Agent and Origin, the visitor's ecrm_vid cookie) at -rate for
//     -duration, open loop: request i is due at start + i/rate and is sent
//     by whichever of -workers keep-alive connections is free. One hit in -probe-every is a
//     probe: a page view with a fresh anonymousId. A poller calls
//     View.Lookup("a:"+id) for every pending probe every 2 ms; a probe's
//     freshness is the time it was first found minus its due send time, so
//     that a generator late for want of a core shows rather than hides
//     (its dispatch lag is printed, and the freshness from the actual
//     send, path_p99_ms, beside). Before the measured run a canary probe
//     checks that the path works.
//
// The last line is profiler_events_per_s=<n> freshness_p99_ms=<n>. Targets
// (at least 50,000 hits/s; p99 below 250 ms) are printed with PASS or FAIL
// but do not set the exit status: it is non-zero only when a hit was not
// processed in time, counted wrong, a request failed or was not sent, or a
// probe never became visible.
//
// The load generator shares the process, and the machine's cores, with
// the servers and the broker; the figures compare runs on one machine.
// Each phase prints the cores this process kept busy and those other
// processes did (from /proc/stat): a busy neighbour makes figures noisy.
// The throughput phase also prints its CPU time per hit (cpu_us_per_hit),
// which a neighbour disturbs less than the rate. Goroutines carry a CPU
// profile label part=broker, profiler, view, relay, collector, load or
// probes, so `go tool pprof -tags FILE` splits a profile by part.
//
// Usage:
//
//	go run ./bench/profiler [-events 200000] [-rate 10000] [-duration 10s] [-cpuprofile profiler.pprof]
//	go tool pprof -top profiler.pprof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
)

// Targets the figures are judged against.
const (
	targetEventsPerS = 50_000 // hits a second one member processes, at least
	targetFreshP99   = 250.0  // ms from send to visible in the view, below
)

func main() { loadgen.Main("profiler", run) }

// config holds the benchmark's settings.
type config struct {
	Events       int
	Visitors     int
	Wait         time.Duration
	Rate         float64
	Duration     time.Duration
	Workers      int
	ProbeEvery   int
	ProbeTimeout time.Duration
	Timeout      time.Duration
	CPUProfile   string
	FreshProfile string
	LogLevel     string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench/profiler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Events, "events", 200_000, "The number of hits written to the hits topic before the profiler starts, for the throughput phase.")
	fs.IntVar(&cfg.Visitors, "visitors", 20_000, "The number of distinct visitors the hits come from.")
	fs.DurationVar(&cfg.Wait, "wait", 3*time.Minute, "How long the throughput phase may take to pre-produce the hits, and again for the profiler to process them, before it fails.")
	fs.Float64Var(&cfg.Rate, "rate", 10_000, "The freshness phase's rate in hits (requests of one event) per second.")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "How long the freshness phase sends hits.")
	fs.IntVar(&cfg.Workers, "workers", 0, "The freshness phase's senders, each with its own keep-alive connection; 0 means the rate times 5ms, at least 64 and at most 1024 (default 0).")
	fs.IntVar(&cfg.ProbeEvery, "probe-every", 50, "One hit in this many is a probe, a page view with a fresh anonymousId whose freshness is measured.")
	fs.DurationVar(&cfg.ProbeTimeout, "probe-timeout", 30*time.Second, "How long after its send time a probe may take to become visible before it counts as lost.")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "How long one request may take to be written or answered before it counts as an error.")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "A file to write the CPU profile of the throughput phase to, from the member's start until it settled, for go tool pprof (default none).")
	fs.StringVar(&cfg.FreshProfile, "cpuprofile-freshness", "", "A file to write the CPU profile of the freshness phase's load to (default none).")
	fs.StringVar(&cfg.LogLevel, "log-level", "warn", "The level of the servers' JSON logs on standard error: debug, info, warn or error.")
	if err := loadgen.ParseFlags(fs, args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Validate reports whether the settings can run.
func (c config) Validate() error {
	var errs []error
	if c.Events < 1 || c.Events > 20_000_000 {
		errs = append(errs, fmt.Errorf("-events %d out of range 1..20000000", c.Events))
	}
	if c.Visitors < 1 || c.Visitors > 10_000_000 {
		errs = append(errs, fmt.Errorf("-visitors %d out of range 1..10000000", c.Visitors))
	}
	if c.Wait <= 0 {
		errs = append(errs, errors.New("-wait must be positive"))
	}
	if c.Rate < 1 {
		errs = append(errs, errors.New("-rate must be at least 1"))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive"))
	}
	if c.Workers < 0 || c.Workers > 4096 {
		errs = append(errs, fmt.Errorf("-workers %d out of range 0..4096", c.Workers))
	}
	if c.ProbeEvery < 1 {
		errs = append(errs, errors.New("-probe-every must be at least 1"))
	}
	if c.ProbeTimeout <= 0 {
		errs = append(errs, errors.New("-probe-timeout must be positive"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("-log-level %q is not debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// workers returns the freshness phase's senders.
func (c config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return loadgen.Workers(c.Rate)
}

// run runs both phases and prints the figures. It returns an error when a
// phase could not run or its outcome is wrong; missed targets are printed,
// not returned.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level, _ := cfg.level()
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	fmt.Fprintf(stdout, "ecrm profiler benchmark: %s GOMAXPROCS=%d NumCPU=%d events=%d visitors=%d rate=%g/s duration=%s workers=%d probe_every=%d load_generator=same_process\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), cfg.Events, cfg.Visitors, cfg.Rate, cfg.Duration, cfg.workers(), cfg.ProbeEvery)

	var failures []error
	fail := func(err error) {
		fmt.Fprintf(stdout, "FAILURE: %v\n", err)
		failures = append(failures, err)
	}

	eps, err := throughput(ctx, cfg, logger, stdout, fail)
	if err != nil {
		return fmt.Errorf("throughput phase: %w", err)
	}
	fmt.Fprintf(stdout, "throughput target>=%d %s\n", targetEventsPerS, loadgen.Verdict(eps >= targetEventsPerS))
	fmt.Fprintf(stdout, "profiler_events_per_s=%.0f\n", eps)

	p99, err := freshness(ctx, cfg, logger, stdout, fail)
	if err != nil {
		return fmt.Errorf("freshness phase: %w", err)
	}
	fmt.Fprintf(stdout, "freshness target<%.0f %s\n", targetFreshP99, loadgen.Verdict(p99 > 0 && p99 < targetFreshP99))
	fmt.Fprintf(stdout, "profiler_events_per_s=%.0f freshness_p99_ms=%.1f\n", eps, p99)
	return errors.Join(failures...)
}

// cost formats what a phase used as the profiler's lines show it: the
// cores this process kept busy, those other processes did, and its GC
// cycles.
func cost(u meter.Usage) string {
	s := fmt.Sprintf("cpu_cores=%.2f", u.Cores())
	if other, ok := u.OtherCores(); ok {
		s += fmt.Sprintf(" other_processes_cores=%.2f", other)
	}
	return s + fmt.Sprintf(" gc_cycles=%d", u.GCs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
