// Command collector is the load benchmark of ecrm's collector: how many
// single-event page hits per second POST /v1/batch takes on this machine,
// compared with a bare Fiber handler, and how fast it answers at half that
// rate.
//
// The servers run in this process on 127.0.0.1, wired as `ecrm run` wires the
// collector: the embedded Kafka-protocol broker (kfake) and a spool in
// temporary directories, the topics, the relay, and the collector with the
// demo site (write key "demo") on the Fiber app of web.NewApp. Beside it runs
// a bare Fiber app, with the same body limit, whose POST /v1/batch reads the
// body and answers 204: the cost of HTTP and Fiber alone.
//
// The load generator of each phase runs in a process of its own, this
// program started again with -role=load, so that client and servers do not
// share a Go scheduler, heap and garbage collector: a stalled client would
// otherwise count as a slow server. It sends to 127.0.0.1 only, stops when
// its phase is over (and is killed if it does not), and prints its counts
// and latencies as JSON on its standard output. It is a fasthttp client
// over keep-alive connections that never retries. Each request is what the
// browser tag sends for one page view: a text/plain body of about 800
// bytes holding one page event with a unique messageId (a per-process
// prefix and a counter), one of 10,000 anonymous ids with its ecrm_vid
// cookie, page properties and context (page, userAgent, locale, library,
// campaign, sessionId), and the headers of Chrome's fetch: a desktop
// User-Agent, Origin, Referer, Accept-*, Sec-Fetch-*.
//
// It runs, in order:
//
//  1. Closed-loop peak: -conns connections each send back to back for
//     -warmup, then for -duration, against the bare handler, then the
//     collector. Only 2xx answers within -duration count (bare_rps,
//     collector_rps); for the collector a 2xx must also say "accepted":1.
//     The line before each figure counts answers: ok (counted), in_window
//     (ok within -duration), non2xx, unaccepted (a collector 2xx without
//     "accepted":1) and errors (no answer). The line after each figure is
//     the CPU time the servers' process spent per answer
//     (bare_server_cpu_us_per_req, collector_server_cpu_us_per_req), which
//     a busy neighbour disturbs less than the rates.
//  2. Open-loop latency: requests scheduled at a fixed rate, half of
//     collector_rps unless -rate says otherwise, for -duration, sent by
//     workers that each take the next scheduled request when free.
//     Latency counts from each request's scheduled send time, not from when
//     it was actually sent, so neither a slow answer nor a late generator
//     hides a stall (no coordinated omission): collector_p50_ms,
//     collector_p99_ms. Beside them: the generator's dispatch lag, the
//     time spent in the collector's handlers (collector_server_p99_ms), and
//     the same schedule against the bare handler (bare_p99_ms), which is
//     what the harness, the Go runtime and the machine add to any answer.
//  3. Delivery: the relay is flushed, the spool waited for, and the hits
//     topic's end offsets summed; with what is still spooled the sum must
//     equal the collector's accepted answers, warm-up included
//     (kafka_records, accepted).
//
// Each phase also prints the cores the servers' process kept busy, those the
// load generator did, those other processes did (from /proc/stat: a busy
// neighbour makes figures noisy), the 99th percentile of the servers'
// goroutines' wait for a core, and their GC cycles.
//
// The last line is collector_vs_bare_ratio=<x>. Targets (ratio >= 0.60,
// p99 < 5 ms at half the peak) are printed with PASS or FAIL but do not set
// the exit status: it is non-zero only when a request failed, the collector
// answered other than 2xx, or a hit was lost or duplicated.
//
// The generator, in its own process, still shares the machine's cores with
// the servers and the broker, so the figures compare runs on one machine;
// they are not the capacity of a collector on a machine of its own.
//
// Usage:
//
//	go run ./bench/collector [-duration 10s] [-conns 64] [-cpuprofile collector.pprof] [-gogc 100]
//	go tool pprof -top collector.pprof
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"
)

// Targets the figures are judged against.
const (
	targetRatio = 0.60 // collector_rps / bare_rps, at least
	targetP99   = 5.0  // ms at half the collector's peak, below
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench collector:", err)
		os.Exit(1)
	}
}

// config holds the benchmark's settings.
type config struct {
	Duration    time.Duration
	Warmup      time.Duration
	Conns       int
	Rate        float64
	Workers     int
	Timeout     time.Duration
	CPUProfile  string
	OpenProfile string
	MemProfile  string
	GOGC        int

	// Role is what this process does: roleBench or roleLoad.
	Role string
	// The load generator's, set by the benchmark that starts it.
	Target    string
	Mode      string
	Name      string
	Collector bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench/collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "How long each measured phase lasts: each closed-loop run after its warm-up, and each open-loop run.")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "How long each closed-loop run sends before counting.")
	fs.IntVar(&cfg.Conns, "conns", 64, "The number of keep-alive connections of the closed-loop runs, each sending back to back.")
	fs.Float64Var(&cfg.Rate, "rate", 0, "The open-loop rate in requests per second; 0 means half the collector's measured peak (default 0).")
	fs.IntVar(&cfg.Workers, "workers", 0, "The open-loop senders, each with its own connection; 0 means the rate times 5ms, at least 64 and at most 1024 (default 0).")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "How long one request may take to be written or answered before it counts as an error.")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "A file to write the CPU profile of the collector's closed-loop run to, for go tool pprof (default none).")
	fs.StringVar(&cfg.OpenProfile, "cpuprofile-open", "", "A file to write the CPU profile of the collector's open-loop run to (default none).")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "A file to write the servers' allocation profile to after the collector's closed-loop run, and one named as it plus .base with those before it, for go tool pprof -sample_index=alloc_space -base FILE.base FILE (default none).")
	fs.IntVar(&cfg.GOGC, "gogc", 0, "The garbage collector's target percentage in the servers' process, as GOGC sets it; 0 keeps the runtime's (GOGC from the environment, else 100), -1 turns the collector off (default 0).")
	fs.StringVar(&cfg.Role, "role", roleBench, "What this process does: bench runs the benchmark; load is one phase's load generator, which the benchmark starts in a process of its own.")
	fs.StringVar(&cfg.Target, "target", "", "With -role=load: the URL on 127.0.0.1 to POST page hits to.")
	fs.StringVar(&cfg.Mode, "mode", modeClosed, "With -role=load: closed, -conns connections sending back to back, or open, requests scheduled at -rate sent by -workers.")
	fs.StringVar(&cfg.Name, "name", "target", "With -role=load: the target's name in messages.")
	fs.BoolVar(&cfg.Collector, "collector", false, "With -role=load: the target is the collector, whose 2xx answers must say \"accepted\":1.")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.Validate()
}

// Validate reports whether the settings can run.
func (c config) Validate() error {
	var errs []error
	if c.Duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive"))
	}
	if c.Warmup < 0 {
		errs = append(errs, errors.New("-warmup must not be negative"))
	}
	if c.Conns < 1 || c.Conns > 4096 {
		errs = append(errs, fmt.Errorf("-conns %d out of range 1..4096", c.Conns))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	if c.Workers < 0 || c.Workers > 4096 {
		errs = append(errs, fmt.Errorf("-workers %d out of range 0..4096", c.Workers))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	if c.GOGC < -1 {
		errs = append(errs, errors.New("-gogc must be -1 (off), 0 (the runtime's) or a percentage"))
	}
	switch c.Role {
	case roleBench:
	case roleLoad:
		if c.Target == "" {
			errs = append(errs, errors.New("-role=load needs -target"))
		}
		switch {
		case c.Mode == modeClosed:
		case c.Mode != modeOpen:
			errs = append(errs, fmt.Errorf("-mode %q is neither closed nor open", c.Mode))
		case c.Rate < 1 || c.Workers < 1:
			errs = append(errs, errors.New("-mode=open needs -rate of at least 1 and -workers"))
		}
	default:
		errs = append(errs, fmt.Errorf("-role %q is neither bench nor load", c.Role))
	}
	return errors.Join(errs...)
}

// run boots the servers, runs the phases in order and prints the figures.
// It returns an error when a request failed or a hit was lost; missed
// targets are printed, not returned.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Role == roleLoad {
		return runLoad(ctx, cfg, stdout)
	}
	if cfg.GOGC != 0 {
		debug.SetGCPercent(cfg.GOGC)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := startStack(ctx, logger)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = errors.Join(err, s.Close(sctx))
	}()

	b := &bench{cfg: cfg, s: s, out: stdout, stderr: stderr}
	fmt.Fprintf(stdout, "ecrm collector benchmark: %s GOMAXPROCS=%d NumCPU=%d GOGC=%d conns=%d warmup=%s duration=%s mean_body_bytes=%d load_generator=separate_process\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), gcPercent(), cfg.Conns, cfg.Warmup, cfg.Duration, newGenerator().meanSize())

	bareRPS, err := b.peak(ctx, s.Bare(), "", "")
	if err != nil {
		return err
	}
	colRPS, err := b.peak(ctx, s.Collector(), cfg.CPUProfile, cfg.MemProfile)
	if err != nil {
		return err
	}
	// Let the relay send the closed-loop backlog before timing answers.
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = s.relay.Flush(fctx)
	cancel()
	if err != nil {
		return fmt.Errorf("flush the relay after the closed-loop run: %w", err)
	}

	rate := cfg.Rate
	if rate == 0 {
		rate = colRPS / 2
	}
	if rate >= 1 {
		if err := b.latency(ctx, s.Collector(), rate, cfg.OpenProfile); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "collector_server_p50_ms=%.3f\n", ms(s.timing.Quantile(0.50)))
		fmt.Fprintf(stdout, "collector_server_p99_ms=%.3f (time in the collector's Fiber handlers, 10µs buckets)\n", ms(s.timing.Quantile(0.99)))
		// The same load on the bare handler: what the harness, the runtime
		// and the machine's neighbours add to any answer.
		if err := b.latency(ctx, s.Bare(), rate, ""); err != nil {
			return err
		}
	} else {
		b.fail(fmt.Errorf("open-loop rate %.2f/s is below 1/s: no latency measured", rate))
	}

	if err := b.delivery(ctx); err != nil {
		return err
	}
	ratio := 0.0
	if bareRPS > 0 {
		ratio = colRPS / bareRPS
	}
	fmt.Fprintf(stdout, "ratio target>=%.2f %s\n", targetRatio, verdict(ratio >= targetRatio))
	fmt.Fprintf(stdout, "collector_vs_bare_ratio=%.2f\n", ratio)
	return errors.Join(b.failures...)
}

// bench runs the phases against one stack and prints their figures.
type bench struct {
	cfg      config
	s        *stack
	out      io.Writer
	stderr   io.Writer // the load generators'
	failures []error
	accepted uint64 // hits the collector answered it accepted, in every phase
}

// fail reports err loudly and keeps it for the exit status.
func (b *bench) fail(err error) {
	fmt.Fprintf(b.out, "FAILURE: %v\n", err)
	b.failures = append(b.failures, err)
}

// peak runs the closed loop against t, profiling the servers' CPU into
// cpuProfile and their allocations into memProfile if set, prints the
// outcome and returns the answers per second.
func (b *bench) peak(ctx context.Context, t target, cpuProfile, memProfile string) (float64, error) {
	stopProfile, err := startProfile(cpuProfile, memProfile)
	if err != nil {
		return 0, err
	}
	m := startMeter()
	rep, err := b.spawnLoad(ctx, t, modeClosed, 0, 0)
	if err != nil {
		stopProfile()
		return 0, err
	}
	usage := m.stop(rep.CPU)
	if err := stopProfile(); err != nil {
		return 0, err
	}
	res := &rep.Tally
	if t.collector {
		b.accepted += res.OK
	}
	rps := res.rate(b.cfg.Duration)
	fmt.Fprintf(b.out, "%s closed loop: %s %s load_sched_wait_p99_ms=%.3f\n", t.name, res, usage, ms(rep.SchedWaitP99))
	fmt.Fprintf(b.out, "%s_rps=%.0f\n", t.name, rps)
	if res.OK > 0 {
		// Less noisy than the rate on a shared machine: what one answer
		// costs the servers' process (the broker and relay included).
		fmt.Fprintf(b.out, "%s_server_cpu_us_per_req=%.1f\n", t.name, float64(usage.own)/float64(time.Microsecond)/float64(res.OK))
	}
	if err := res.failure(t.name); err != nil {
		b.fail(err)
	}
	return rps, nil
}

// latency runs the open loop against t at rate, profiling the servers' CPU
// into profile if set, and prints the outcome; the collector's p99 with its
// target.
func (b *bench) latency(ctx context.Context, t target, rate float64, profile string) error {
	workers := b.cfg.Workers
	if workers == 0 {
		workers = min(max(64, int(rate*0.005)+1), 1024)
	}
	stopProfile, err := startProfile(profile, "")
	if err != nil {
		return err
	}
	if t.collector {
		b.s.timing.Start()
	}
	m := startMeter()
	rep, err := b.spawnLoad(ctx, t, modeOpen, rate, workers)
	b.s.timing.Stop()
	if err != nil {
		stopProfile()
		return err
	}
	usage := m.stop(rep.CPU)
	if err := stopProfile(); err != nil {
		return err
	}
	if t.collector {
		b.accepted += rep.Tally.OK
	}
	fmt.Fprintf(b.out, "%s open loop: rate=%.0f/s workers=%d scheduled=%d achieved=%.0f/s %s %s load_sched_wait_p99_ms=%.3f\n",
		t.name, rate, workers, rep.Scheduled, rep.Tally.rate(b.cfg.Duration), &rep.Tally, usage, ms(rep.SchedWaitP99))
	fmt.Fprintf(b.out, "%s open loop: dispatch_lag_p50_ms=%.3f dispatch_lag_p99_ms=%.3f (the generator's lateness, counted in the latencies)\n",
		t.name, ms(rep.LagP50), ms(rep.LagP99))
	p99 := ms(rep.LatencyP99)
	judged := ""
	if t.collector {
		judged = fmt.Sprintf(" target<%.0f %s", targetP99, verdict(p99 < targetP99 && rep.Latencies > 0))
	}
	fmt.Fprintf(b.out, "%s_p50_ms=%.3f\n", t.name, ms(rep.LatencyP50))
	fmt.Fprintf(b.out, "%s_p99_ms=%.3f%s (measured by the load generator's process)\n", t.name, p99, judged)
	fmt.Fprintf(b.out, "%s_max_ms=%.3f\n", t.name, ms(rep.LatencyMax))
	if err := rep.failure(t.name + " (open loop)"); err != nil {
		b.fail(err)
	}
	return nil
}

// delivery checks that every hit the collector accepted reached Kafka or
// is still in the spool, exactly once.
func (b *bench) delivery(ctx context.Context) error {
	records, spooled, err := b.s.Delivered(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "kafka_records=%d accepted=%d spooled=%d\n", records, b.accepted, spooled)
	switch stored, accepted := records+int64(spooled), int64(b.accepted); {
	case stored < accepted:
		b.fail(fmt.Errorf("%d accepted hits are neither in Kafka nor in the spool", accepted-stored))
	case stored > accepted:
		b.fail(fmt.Errorf("%d more hits stored than accepted (duplicates, or requests that failed after the collector took them)", stored-accepted))
	}
	return nil
}

// startProfile starts a CPU profile into cpuPath, if any, and returns the
// function that stops it and, if memPath is set, writes the allocations
// made meanwhile there.
func startProfile(cpuPath, memPath string) (stop func() error, err error) {
	stopCPU := func() error { return nil }
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		stopCPU = func() error {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			return nil
		}
	}
	if memPath == "" {
		return stopCPU, nil
	}
	// Only what is allocated from now on: a rate from the start, and the
	// profile's counts before taken away by pprof's -base.
	before := memProfile()
	return func() error {
		err := stopCPU()
		runtime.GC() // the profile counts what the last cycle saw
		if werr := os.WriteFile(memPath+".base", before, 0o644); werr != nil {
			return errors.Join(err, fmt.Errorf("memory profile: %w", werr))
		}
		if werr := os.WriteFile(memPath, memProfile(), 0o644); werr != nil {
			return errors.Join(err, fmt.Errorf("memory profile: %w", werr))
		}
		return err
	}, nil
}

// memProfile returns the allocation profile so far.
func memProfile() []byte {
	runtime.GC()
	var buf bytes.Buffer
	_ = pprof.Lookup("allocs").WriteTo(&buf, 0) // writes to memory
	return buf.Bytes()
}

// gcPercent returns the garbage collector's target percentage.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
