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
// over keep-alive connections that never retries. The loops, the
// generator's process and the meters are bench/internal/loadgen and
// bench/internal/meter, which the other benchmarks share; the requests
// are this program's (request.go). Each request is what the browser tag
// sends for one page view: a text/plain body of about 800 bytes holding
// one page event with a unique messageId (a per-process prefix and a
// counter), one of 10,000 anonymous ids with its ecrm_vid cookie, page
// properties and context (page, userAgent, locale, library, campaign,
// sessionId), and the headers of Chrome's fetch: a desktop User-Agent,
// Origin, Referer, Accept-*, Sec-Fetch-*.
//
// It runs, in order:
//
//  1. Closed-loop peak, in four runs: bare handler, collector, collector,
//     bare handler (ABBA: the machine's speed drifts, by up to 10% over
//     minutes, and a drift then weighs on both sides alike); bare_rps and
//     collector_rps are the means of each one's two runs. In each run
//     -conns keep-alive connections each send back to back, for -warmup,
//     then for -duration. By default the sender is wrk (-loadgen=wrk;
//     Debian's package wrk, two threads), whose Lua script (wrk.go) sends
//     what the Go generator sends: the same headers, the same bodies for
//     the same visitors and pages, a messageId unique in the run. wrk
//     spends about as much CPU on a request to the collector as on one to
//     the bare handler (8–9 µs here), and keeps the cores busy. The Go
//     generator (-loadgen=go) spends more on the collector's slower
//     answers (10–11 µs against 8), in its scheduler's idle path, and
//     leaves a quarter of a core idle in the collector's run only: the
//     ratio it gives is 0.04–0.07 lower, the generator's cost, not the
//     collector's. With wrk, every answer within -duration counts and must
//     be 2xx (bare_rps, collector_rps); with -loadgen=go, only 2xx answers
//     count, and a collector's must say "accepted":1. The line before each
//     figure counts answers and errors; the line after is the CPU time the
//     servers' process spent per answer (bare_server_cpu_us_per_req,
//     collector_server_cpu_us_per_req), which a busy neighbour disturbs
//     less than the rates.
//  2. Open-loop latency: requests scheduled at a fixed rate, half of
//     collector_rps unless -rate says otherwise, for -open-duration
//     (30s: in a 10s run a single stall of the machine of 100ms delays
//     1% of the requests, and alone makes the p99), over
//     -workers keep-alive connections, each request sent when due on the
//     connection idle the longest, or as soon as one is free when all are
//     busy. Latency counts from each request's scheduled send time, not
//     from when it was actually sent, so neither a slow answer nor a late
//     generator hides a stall (no coordinated omission): collector_p50_ms,
//     collector_p99_ms, and the p99 of each 10s of the run
//     (collector_p99_ms_by_10s), which shows whether one stretch made
//     it. The sender (-sender) is by default an event loop
//     on an OS thread of its own, as wrk2 sends: epoll, a timerfd and raw
//     sockets (loadgen.EventLoop). The Go sender (-sender=go, a goroutine
//     and a fasthttp client a connection) adds its own tail: the bare
//     handler's p99 at the same rate was 1.1–3.6 ms with it, against
//     0.4–0.5 ms with the event loop. Beside them: the generator's dispatch
//     lag, the requests that found every connection busy
//     (waited_for_connection: the server stalled), the time spent in the
//     collector's handlers (collector_server_p99_ms), and the same
//     schedule against the bare handler (bare_p99_ms), which is what the
//     harness, the Go runtime and the machine add to any answer.
//  3. Delivery: the relay is flushed, the spool waited for, and the hits
//     topic's end offsets summed; with what is still spooled the sum must
//     equal the collector's count of accepted hits, warm-up included
//     (kafka_records, accepted), and that count must lie between the
//     accepted answers the load generators saw and those plus the
//     requests in flight when a wrk run stopped (answered_accepted); the
//     collector must have refused none.
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
//	go run ./bench/collector [-duration 10s] [-open-duration 30s] [-conns 64] [-loadgen wrk|go] [-sender event|go] [-cpuprofile collector.pprof] [-gogc 100]
//	go tool pprof -top collector.pprof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
)

// Targets the figures are judged against.
const (
	targetRatio = 0.60 // collector_rps / bare_rps, at least
	targetP99   = 5.0  // ms at half the collector's peak, below
)

func main() { loadgen.Main("collector", run) }

// config holds the benchmark's settings. Those of loadgen.Flags are the
// phases' (-duration, -warmup, -conns, -rate, -workers, -timeout), and the
// role and target of this process.
type config struct {
	loadgen.Flags
	CPUProfile  string
	OpenProfile string
	MemProfile  string
	GOGC        int
	Loadgen     string        // of the closed-loop peaks: wrk or go
	OpenFor     time.Duration // each open-loop run's length

	// Collector is the load generator's: its target is the collector.
	Collector bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench/collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Sender = loadgen.EventLoops
	cfg.Register(fs)
	fs.DurationVar(&cfg.OpenFor, "open-duration", 30*time.Second, "How long each open-loop run lasts; its p99 is also given for each 10s of it.")
	fs.Float64Var(&cfg.Rate, "rate", 0, "The open-loop rate in requests per second; 0 means half the collector's measured peak (default 0).")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "A file to write the CPU profile of the collector's closed-loop run to, for go tool pprof (default none).")
	fs.StringVar(&cfg.OpenProfile, "cpuprofile-open", "", "A file to write the CPU profile of the collector's open-loop run to (default none).")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "A file to write the servers' allocation profile to after the collector's closed-loop run, and one named as it plus .base with those before it, for go tool pprof -sample_index=alloc_space -base FILE.base FILE (default none).")
	fs.IntVar(&cfg.GOGC, "gogc", 0, "The garbage collector's target percentage in the servers' process, as GOGC sets it; 0 keeps the runtime's (GOGC from the environment, else 100), -1 turns the collector off (default 0).")
	fs.StringVar(&cfg.Loadgen, "loadgen", "wrk", "The load generator of the closed-loop peaks: wrk (apt-get install -y wrk), or go, this program's own in a process of its own (the open-loop runs use -sender).")
	fs.StringVar(&cfg.Target, "target", "", "With -role=load: the URL on 127.0.0.1 to POST page hits to.")
	fs.BoolVar(&cfg.Collector, "collector", false, "With -role=load: the target is the collector, whose 2xx answers must say \"accepted\":1.")
	if err := loadgen.ParseFlags(fs, args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Validate reports whether the settings can run.
func (c config) Validate() error {
	errs := []error{c.Flags.Validate()}
	if c.Rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	if c.Loadgen != "wrk" && c.Loadgen != "go" {
		errs = append(errs, errors.New("-loadgen must be wrk or go"))
	}
	if c.OpenFor <= 0 {
		errs = append(errs, errors.New("-open-duration must be positive"))
	}
	if c.GOGC < -1 {
		errs = append(errs, errors.New("-gogc must be -1 (off), 0 (the runtime's) or a percentage"))
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
	if cfg.Role == loadgen.RoleLoad {
		return runLoad(ctx, cfg, stdout)
	}
	if cfg.GOGC != 0 {
		debug.SetGCPercent(cfg.GOGC)
	}
	if cfg.Loadgen == "wrk" {
		if _, err := loadgen.WrkPath(); err != nil {
			return fmt.Errorf("%w, or run with -loadgen=go", err)
		}
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

	b := &bench{cfg: cfg, s: s, out: stdout, stderr: stderr, gen: newGenerator()}
	closed := "go, in a process of its own"
	if cfg.Loadgen == "wrk" {
		closed = fmt.Sprintf("wrk -t%d", wrkThreads)
	}
	open := "go (goroutines and a fasthttp client), in a process of its own"
	if cfg.Sender == loadgen.EventLoops {
		open = "event loops, in a process of its own"
	}
	fmt.Fprintf(stdout, "ecrm collector benchmark: %s GOMAXPROCS=%d NumCPU=%d GOGC=%d conns=%d warmup=%s duration=%s open_duration=%s mean_body_bytes=%d closed_loop_load_generator=%q open_loop_load_generator=%q\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), gcPercent(), cfg.Conns, cfg.Warmup, cfg.Duration, cfg.OpenFor, b.gen.meanSize(), closed, open)

	// ABBA: bare, collector, collector, bare, so that a drift of the
	// machine's speed over the four runs (it does drift, by 10% over
	// minutes) weighs on both sides alike.
	var bareRuns, colRuns [2]float64
	for _, run := range []struct {
		t        target
		n        int
		into     *float64
		cpu, mem string
	}{
		{s.Bare(), 1, &bareRuns[0], "", ""},
		{s.Collector(), 1, &colRuns[0], cfg.CPUProfile, cfg.MemProfile},
		{s.Collector(), 2, &colRuns[1], "", ""},
		{s.Bare(), 2, &bareRuns[1], "", ""},
	} {
		run.t.name = fmt.Sprintf("%s_run%d", run.t.name, run.n)
		if *run.into, err = b.closedPeak(ctx, run.t, run.cpu, run.mem); err != nil {
			return err
		}
	}
	bareRPS, colRPS := (bareRuns[0]+bareRuns[1])/2, (colRuns[0]+colRuns[1])/2
	fmt.Fprintf(stdout, "bare_rps=%.0f (the mean of the runs before and after the collector's)\n", bareRPS)
	fmt.Fprintf(stdout, "collector_rps=%.0f (the mean of its two runs)\n", colRPS)
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
		h := s.timing.Of(pathBatch)
		fmt.Fprintf(stdout, "collector_server_p50_ms=%.3f\n", ms(h.UpperBound(0.50)))
		fmt.Fprintf(stdout, "collector_server_p99_ms=%.3f (time in the collector's Fiber handlers, 10µs buckets)\n", ms(h.UpperBound(0.99)))
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
	fmt.Fprintf(stdout, "ratio target>=%.2f %s\n", targetRatio, loadgen.Verdict(ratio >= targetRatio))
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
	gen      *generator // the requests, for wrk's scripts
	accepted uint64     // hits the load generators saw accepted, in every phase
	// unseen bounds the hits the collector accepted whose answers no load
	// generator saw: wrk stops with a request in flight on each connection.
	unseen uint64
}

// closedPeak measures t's closed-loop peak with -loadgen's generator.
func (b *bench) closedPeak(ctx context.Context, t target, cpuProfile, memProfile string) (float64, error) {
	if b.cfg.Loadgen == "go" {
		return b.peak(ctx, t, cpuProfile, memProfile)
	}
	rps, answered, err := b.peakWrk(ctx, t, cpuProfile, memProfile)
	if t.collector {
		b.accepted += uint64(answered)
		b.unseen += 2 * uint64(b.cfg.Conns) // the warm-up's run and the measured one
	}
	return rps, err
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
	rep, usage, err := b.spawnLoad(ctx, t, loadgen.Closed, 0, 0, cpuProfile, memProfile)
	if err != nil {
		return 0, err
	}
	res := &rep.Tally
	if t.collector {
		b.accepted += res.OK
	}
	rps := res.Rate(b.cfg.Duration)
	fmt.Fprintf(b.out, "%s closed loop: %s %s load_sched_wait_p99_ms=%.3f\n", t.name, counts(res), cost(usage), ms(rep.SchedWaitP99))
	fmt.Fprintf(b.out, "%s_rps=%.0f\n", t.name, rps)
	if res.OK > 0 {
		// Less noisy than the rate on a shared machine: what one answer
		// costs the servers' process (the broker and relay included).
		fmt.Fprintf(b.out, "%s_server_cpu_us_per_req=%.1f\n", t.name, float64(usage.Own)/float64(time.Microsecond)/float64(res.OK))
	}
	if err := res.Failure(t.name, unaccepted); err != nil {
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
		workers = loadgen.Workers(rate)
	}
	if t.collector {
		b.s.timing.Start()
	}
	rep, usage, err := b.spawnLoad(ctx, t, loadgen.Open, rate, workers, profile, "")
	b.s.timing.Stop()
	if err != nil {
		return err
	}
	if t.collector {
		b.accepted += rep.Tally.OK
	}
	fmt.Fprintf(b.out, "%s open loop: rate=%.0f/s workers=%d scheduled=%d achieved=%.0f/s %s %s load_sched_wait_p99_ms=%.3f\n",
		t.name, rate, workers, rep.Scheduled, rep.Tally.Rate(b.cfg.OpenFor), counts(&rep.Tally), cost(usage), ms(rep.SchedWaitP99))
	fmt.Fprintf(b.out, "%s open loop: dispatch_lag_p50_ms=%.3f dispatch_lag_p99_ms=%.3f waited_for_connection=%d (the generator's lateness and the waits for a free connection, counted in the latencies)\n",
		t.name, ms(rep.LagP50), ms(rep.LagP99), rep.Waited)
	p99 := ms(rep.LatencyP99)
	judged := ""
	if t.collector {
		judged = fmt.Sprintf(" target<%.0f %s", targetP99, loadgen.Verdict(p99 < targetP99 && rep.Latencies > 0))
	}
	fmt.Fprintf(b.out, "%s_p50_ms=%.3f\n", t.name, ms(rep.LatencyP50))
	fmt.Fprintf(b.out, "%s_p99_ms=%.3f%s (measured by the load generator's process)\n", t.name, p99, judged)
	if len(rep.WindowP99) > 1 {
		by := make([]string, len(rep.WindowP99))
		for i, d := range rep.WindowP99 {
			by[i] = fmt.Sprintf("%.3f", ms(d))
		}
		fmt.Fprintf(b.out, "%s_p99_ms_by_%s=%s (the run's p99 over each stretch of it, in order)\n", t.name, loadgen.ReportWindow, strings.Join(by, ","))
	}
	fmt.Fprintf(b.out, "%s_max_ms=%.3f\n", t.name, ms(rep.LatencyMax))
	if err := rep.Failure(t.name+" (open loop)", unaccepted); err != nil {
		b.fail(err)
	}
	return nil
}

// delivery checks that every hit the collector accepted reached Kafka or
// is still in the spool, exactly once, and that its count of accepted hits
// agrees with the answers the load generators saw.
func (b *bench) delivery(ctx context.Context) error {
	records, spooled, err := b.s.Delivered(ctx)
	if err != nil {
		return err
	}
	events, err := b.s.Events()
	if err != nil {
		return err
	}
	accepted := events["accepted"]
	fmt.Fprintf(b.out, "kafka_records=%d accepted=%d spooled=%d answered_accepted=%d (the load generators'; up to %d more in flight when wrk stopped)\n",
		records, accepted, spooled, b.accepted, b.unseen)
	switch stored := records + int64(spooled); {
	case stored < int64(accepted):
		b.fail(fmt.Errorf("%d accepted hits are neither in Kafka nor in the spool", int64(accepted)-stored))
	case stored > int64(accepted):
		b.fail(fmt.Errorf("%d more hits stored than accepted (duplicates)", stored-int64(accepted)))
	}
	if accepted < b.accepted || accepted > b.accepted+b.unseen {
		b.fail(fmt.Errorf("the collector counted %d hits accepted, the load generators saw %d (and at most %d unseen)", accepted, b.accepted, b.unseen))
	}
	for result, n := range events {
		if result != "accepted" && n > 0 {
			b.fail(fmt.Errorf("the collector did not accept %d hits: %s", n, result))
		}
	}
	return nil
}

// gcPercent returns the garbage collector's target percentage.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// cost formats what a phase used as the collector's lines show it: the
// cores the servers' process kept busy, those the load generator's did
// (when in a process of its own) and other processes did, the servers'
// goroutines' wait for a core and their GC cycles.
func cost(u meter.Usage) string {
	s := fmt.Sprintf("cpu_cores=%.2f", u.Cores())
	if u.Load > 0 {
		s += fmt.Sprintf(" load_generator_cores=%.2f", u.LoadCores())
	}
	if other, ok := u.OtherCores(); ok {
		s += fmt.Sprintf(" other_processes_cores=%.2f", other)
	}
	return s + fmt.Sprintf(" sched_wait_p99_ms=%.3f gc_cycles=%d", ms(u.SchedWaitP99), u.GCs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
