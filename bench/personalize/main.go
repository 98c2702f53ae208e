// Command personalize is the load benchmark of ecrm's personalize role: how
// many GET /v1/recommend and GET /v1/decide requests per second it answers
// on this machine, compared with a bare Fiber handler, and how long its
// handlers take at half that rate, over the state of a shop of -profiles
// visitors and -items items.
//
// The state is built in this process, without Kafka, as personalize would
// hold it after reading the topics: a Pebble store (store.Open, in a
// temporary directory) holding, for every visitor, the profile snapshot
// the profiler publishes (the JSON of profile.Profile: ids, touches,
// device, sessions, interests, recent items, cart, orders and bought
// items, campaign exposures, the recent message ids) as the view stores it
// under "p/<profile id>" (view.AppendStored: without the message ids and
// the rest of the profiler's bookkeeping), and
// each identifier (a:<anonymous id>, u:<user id>, e:<email hash>) under
// "i/<identifier>" → profile id, and each profile's brief (view.AppendBrief:
// recent items, cart, bought) under "b/<profile id>", the layout of view's
// tailer, written in large key-ordered batches; a view.View over it, which
// loads every identifier and brief into memory at open (the time and size
// are printed), with a -cache-mib cache of decoded profiles (256, its
// default): recommend reads the briefs, decide the profiles; a recommend.Model with the default settings that
// observed -sessions synthetic sessions (items of power-law popularity,
// mostly of one category per session, some carted and bought) through
// Observe, then Refresh, while the store fills; the catalog of the items;
// and a campaign.Registry of five campaigns on the home_banner placement
// (segments over profile variables, frequency caps, holdouts), one ended,
// and three on other placements. The exposures personalize records go to
// a publisher that counts and drops them. Once filled, the store is
// flushed and its compactions are let finish (store.Settle; the wait is
// printed): a replica filled from the topics over time has no such debt,
// and it would otherwise run beside the measurements. The build's time, the size of
// the store, the live heap (runtime.MemStats.HeapAlloc after a collection)
// and the resident memory are printed.
//
// personalize.New(...).PageRoutes and NewDecisions(...).Routes serve on
// the Fiber app of web.NewApp on a loopback port, as `ecrm run` mounts
// them; beside it, the same app with one handler answering a small fixed
// JSON is the bare handler: the cost of HTTP and Fiber alone.
//
// The load generator of each phase runs in a process of its own, this
// program started again with -role=load, so that client and servers do not
// share a Go scheduler, heap and garbage collector. It sends to 127.0.0.1
// only, stops when its phase is over (and is killed if it does not), and
// prints its counts and latencies as JSON on its standard output. It is a
// fasthttp client over keep-alive connections that never retries (the
// loops, the generator's process and the meters are bench/internal/loadgen
// and bench/internal/meter, which the other benchmarks share); its
// requests (load.go) are those of a shop's pages: a random known visitor
// (anonymousId), drawn afresh in each phase, uniformly among all the
// profiles or among -active of them and, for recommend, type=personal and
// type=similar in turn for an item drawn by popularity, as product pages
// are viewed; for decide, placement=home_banner. Both carry writeKey=demo.
// With every profile equally likely, as by default, almost every request
// is a visitor's first and misses the view's cache: the worst case. A
// smaller -active models the visitors of the hour, whose profiles stay in
// the cache after their first request.
//
// It runs, in order:
//
//  0. A sample of 1,000 requests of each kind, one at a time, whose answers
//     are decoded: the share of recommended items by reason (the asked type
//     or popular filling in) and of decisions by campaign and group.
//  1. Closed-loop peak: -conns connections each send back to back for
//     -warmup, then for -duration, against the bare handler (the recommend
//     requests), recommend, recommend again and the bare handler again
//     (ABBA: the machine's speed drifts, and a drift then weighs on both
//     sides alike; bare_rps and recommend_rps are the means of each one's
//     two runs), then decide. By default the sender is wrk
//     (-loadgen=wrk; Debian's package wrk, two threads), whose Lua script
//     (wrk.go) sends what the Go generator sends: the same headers, a
//     visitor drawn afresh each phase uniformly among the same ones (its
//     anonymous ids in a file the script loads), recommend's types in
//     turn, items drawn by popularity (a million draws in a file). wrk
//     costs about the same CPU on a request whatever the server's latency
//     and keeps the cores busy; the Go generator (-loadgen=go) costs more
//     on slow answers, in its scheduler, and leaves cores idle (see
//     bench/collector). With wrk every answer within -duration counts and
//     must be 2xx; with -loadgen=go only 2xx answers count, and for
//     recommend only those with at least one item. Each figure is followed
//     by the CPU time the servers' process spent per answer and, for
//     recommend and decide, the share of profile reads the view's cache
//     answered.
//  2. Open-loop latency: requests scheduled at a fixed rate, half of each
//     peak unless -recommend-rate or -decide-rate says otherwise, for
//     -duration, sent by event loops on OS threads of their own, wrk2's
//     way (loadgen.EventLoop; -sender=go sends from goroutines over a
//     fasthttp client instead, which fell behind its schedule at
//     recommend's rate: dispatch lag p99 45–120 ms). The time in the handlers (a Fiber middleware before the
//     routes, 1µs buckets) gives recommend_p50_ms, recommend_p99_ms,
//     recommend_max_ms, the same by type (personal, similar), and the same
//     for decide; the load generator's own
//     latencies, from each request's scheduled send time, are printed
//     beside them (client_p99_ms). Halfway through each window, unless
//     one ran by then, the servers' process starts a garbage collection
//     cycle (-gc-midway, gc_forced=true): with a heap of about a gigabyte
//     a cycle marks for about a second, and a replica's p99 over time
//     counts them, so a window must not pass only because none fell in it.
//  3. Answers and exposures, counted in the servers by a middleware for
//     every phase, wrk's included (wrk does not read bodies): no
//     recommendation without items, and the publisher must have been
//     given one record per decision naming a group, sample and warm-up
//     included; the Go generators' own counts must agree.
//
// The last line is
//
//	recommend_vs_bare_ratio=<x> recommend_p99_ms=<x> decide_p99_ms=<x>
//
// Targets (ratio >= 0.5, p99 in the server < 1 ms) are printed with PASS
// or FAIL but do not set the exit status: it is non-zero only when the
// state could not be built, a request failed, an answer was other than
// 2xx or a recommendation empty, or exposures went missing.
//
// The generator shares the machine's cores with the servers, so the
// figures compare runs on one machine; they are not the capacity of a
// replica on a machine of its own.
//
// Usage:
//
//	go run ./bench/personalize [-profiles 1000000] [-items 100000] [-duration 10s] [-active 0] [-cpuprofile recommend.pprof]
//	go tool pprof -top recommend.pprof
//	go run ./bench/personalize -heapprofile heap.pprof && go tool pprof -sample_index=inuse_objects -top heap.pprof
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"time"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
)

// Targets the figures are judged against.
const (
	targetRatio = 0.5 // recommend_rps / bare_rps, at least
	targetP99   = 1.0 // ms in the handlers at half the peak, below
)

func main() {
	// A closed standard output (a pipe to head) stops the run too, so
	// that the temporary store is removed.
	loadgen.Main("personalize", run, syscall.SIGPIPE)
}

// run builds the state, serves it, runs the phases in order and prints
// the figures. It returns an error when the state could not be built or a
// request failed; missed targets are printed, not returned.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Role == loadgen.RoleLoad {
		return runLoad(ctx, cfg, stdout)
	}
	closed := "go, in a process of its own"
	if cfg.Loadgen == "wrk" {
		if _, err := loadgen.WrkPath(); err != nil {
			return fmt.Errorf("%w, or run with -loadgen=go", err)
		}
		closed = fmt.Sprintf("wrk -t%d", wrkThreads)
	}
	fmt.Fprintf(stdout, "ecrm personalize benchmark: %s GOMAXPROCS=%d NumCPU=%d profiles=%d items=%d sessions=%d active_visitors=%d conns=%d warmup=%s duration=%s closed_loop_load_generator=%q open_loop_load_generator=%q\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), cfg.Profiles, cfg.Items, cfg.Sessions, activeVisitors(cfg), cfg.Conns, cfg.Warmup, cfg.Duration, closed, "go, in a process of its own")

	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w := newWorld(cfg.Seed, cfg.Profiles, cfg.Items, time.Now().Truncate(time.Millisecond))
	w.active = cfg.Active
	s, err := startStack(ctx, w, cfg, logger, stdout)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = errors.Join(err, s.Close(sctx))
	}()

	b := &bench{cfg: cfg, s: s, w: w, out: stdout, stderr: stderr}
	exposed, err := b.sample()
	if err != nil {
		return err
	}
	b.exposed += exposed

	// ABBA: bare, recommend, recommend, bare, so that a drift of the
	// machine's speed over the four runs weighs on both sides alike.
	var bareRuns, recRuns [2]float64
	for _, run := range []struct {
		t    target
		n    int
		into *float64
		cpu  string
	}{
		{s.Bare(), 1, &bareRuns[0], ""},
		{s.Recommend(), 1, &recRuns[0], cfg.CPUProfile},
		{s.Recommend(), 2, &recRuns[1], ""},
		{s.Bare(), 2, &bareRuns[1], ""},
	} {
		run.t.name = fmt.Sprintf("%s_run%d", run.t.name, run.n)
		if *run.into, err = b.closedPeak(ctx, run.t, run.cpu); err != nil {
			return err
		}
	}
	bareRPS, recRPS := (bareRuns[0]+bareRuns[1])/2, (recRuns[0]+recRuns[1])/2
	fmt.Fprintf(stdout, "bare_rps=%.0f (the mean of the runs before and after recommend's)\n", bareRPS)
	fmt.Fprintf(stdout, "recommend_rps=%.0f (the mean of its two runs)\n", recRPS)
	decRPS, err := b.closedPeak(ctx, s.Decide(), cfg.DecideProfile)
	if err != nil {
		return err
	}

	recP99, err := b.latency(ctx, s.Recommend(), orMeasured(cfg.RecommendRate, recRPS/2))
	if err != nil {
		return err
	}
	decP99, err := b.latency(ctx, s.Decide(), orMeasured(cfg.DecideRate, decRPS/2))
	if err != nil {
		return err
	}

	recorded, grouped := s.exposures.records.Load(), s.answers.grouped.Load()
	fmt.Fprintf(stdout, "exposures_recorded=%d decisions_with_group=%d (answered, counted in the server; the Go generators saw %d of them) recommendations_without_items=%d\n",
		recorded, grouped, b.exposed, s.answers.empty.Load())
	if recorded != grouped || b.exposed > grouped {
		b.fail(fmt.Errorf("the exposure publisher got %d records for %d decisions naming a group (the Go generators saw %d)", recorded, grouped, b.exposed))
	}
	if n := s.answers.empty.Load(); n > 0 {
		b.fail(fmt.Errorf("%d %s", n, empty))
	}
	fmt.Fprintf(stdout, "heap_alloc_after_load_mib=%.0f\n", mib(int64(heapAlloc())))
	if cfg.HeapProfile != "" {
		if err := writeHeapProfile(cfg.HeapProfile); err != nil {
			return err
		}
	}

	ratio := 0.0
	if bareRPS > 0 {
		ratio = recRPS / bareRPS
	}
	fmt.Fprintf(stdout, "ratio target>=%.2f %s\n", targetRatio, loadgen.Verdict(ratio >= targetRatio))
	fmt.Fprintf(stdout, "recommend_p99 target<%.0fms %s\n", targetP99, loadgen.Verdict(recP99 > 0 && recP99 < targetP99))
	fmt.Fprintf(stdout, "decide_p99 target<%.0fms %s\n", targetP99, loadgen.Verdict(decP99 > 0 && decP99 < targetP99))
	fmt.Fprintf(stdout, "recommend_vs_bare_ratio=%.2f recommend_p99_ms=%.3f decide_p99_ms=%.3f\n", ratio, recP99, decP99)
	return errors.Join(b.failures...)
}

// activeVisitors returns how many visitors the requests come from.
func activeVisitors(cfg config) int {
	if cfg.Active <= 0 {
		return cfg.Profiles
	}
	return min(cfg.Active, cfg.Profiles)
}

// orMeasured returns the rate asked for, else the measured one.
func orMeasured(asked, measured float64) float64 {
	if asked > 0 {
		return asked
	}
	return measured
}

// bench runs the phases against one stack and prints their figures.
type bench struct {
	cfg      config
	s        *stack
	w        *world
	out      io.Writer
	stderr   io.Writer // the load generators'
	failures []error
	exposed  uint64   // decisions answered with a group the Go generators saw
	wrk      wrkFiles // the data of wrk's scripts, once written
}

// closedPeak measures t's closed-loop peak with -loadgen's generator.
func (b *bench) closedPeak(ctx context.Context, t target, cpuProfile string) (float64, error) {
	if b.cfg.Loadgen == "go" {
		return b.peak(ctx, t, cpuProfile)
	}
	return b.peakWrk(ctx, t, cpuProfile)
}

// fail reports err loudly and keeps it for the exit status.
func (b *bench) fail(err error) {
	fmt.Fprintf(b.out, "FAILURE: %v\n", err)
	b.failures = append(b.failures, err)
}

// peak runs the closed loop against t, profiling the servers' CPU into
// cpuProfile if set, prints the outcome and returns the answers per
// second.
func (b *bench) peak(ctx context.Context, t target, cpuProfile string) (float64, error) {
	cache := b.s.startCacheCount()
	rep, usage, err := b.spawnLoad(ctx, t, loadgen.Closed, 0, 0, cpuProfile)
	if err != nil {
		return 0, err
	}
	res := &rep.Tally
	b.exposed += res.Marked
	rps := res.Rate(b.cfg.Duration)
	fmt.Fprintf(b.out, "%s closed loop: %s %s\n", t.name, counts(res), cost(usage))
	fmt.Fprintf(b.out, "%s_rps=%.0f\n", t.name, rps)
	if res.OK > 0 {
		fmt.Fprintf(b.out, "%s_server_cpu_us_per_req=%.1f\n", t.name, float64(usage.Own)/float64(time.Microsecond)/float64(res.OK))
	}
	if t.kind != kindBare {
		fmt.Fprintf(b.out, "%s_view_cache_hit_rate=%s\n", t.name, cache())
	}
	if err := res.Failure(t.name, empty); err != nil {
		b.fail(err)
	}
	return rps, nil
}

// latency runs the open loop against t at rate, prints the time in its
// handlers and the generator's latencies, and returns the handlers' p99 in
// ms.
func (b *bench) latency(ctx context.Context, t target, rate float64) (float64, error) {
	if rate < 1 {
		b.fail(fmt.Errorf("%s: open-loop rate %.2f/s is below 1/s: no latency measured", t.name, rate))
		return 0, nil
	}
	workers := b.cfg.Workers
	if workers == 0 {
		workers = loadgen.Workers(rate)
	}
	path := pathRecommend
	if t.kind == kindDecide {
		path = pathDecide
	}
	b.s.timing.Start()
	cache := b.s.startCacheCount()
	forced := make(chan bool, 1)
	gcCtx, stopGC := context.WithCancel(ctx)
	half := uint64(rate * b.cfg.Duration.Seconds() / 2)
	go func() { forced <- b.cfg.GCMidway && gcMidway(gcCtx, b.s.timing.Of(path), half) }()
	rep, usage, err := b.spawnLoad(ctx, t, loadgen.Open, rate, workers, "")
	stopGC()
	gcForced := <-forced
	b.s.timing.Stop()
	if err != nil {
		return 0, err
	}
	b.exposed += rep.Tally.Marked
	h := b.s.timing.Of(path)
	fmt.Fprintf(b.out, "%s open loop: rate=%.0f/s workers=%d scheduled=%d achieved=%.0f/s %s %s gc_forced=%t view_cache_hit_rate=%s\n",
		t.name, rate, workers, rep.Scheduled, rep.Tally.Rate(b.cfg.Duration), counts(&rep.Tally), cost(usage), gcForced, cache())
	fmt.Fprintf(b.out, "%s open loop, load generator: client_p50_ms=%.3f client_p99_ms=%.3f client_max_ms=%.3f dispatch_lag_p99_ms=%.3f (from the scheduled send: HTTP, queueing and the generator's lateness included)\n",
		t.name, ms(rep.LatencyP50), ms(rep.LatencyP99), ms(rep.LatencyMax), ms(rep.LagP99))
	p99 := ms(h.Quantile(0.99))
	fmt.Fprintf(b.out, "%s_p50_ms=%.3f\n", t.name, ms(h.Quantile(0.50)))
	fmt.Fprintf(b.out, "%s_p99_ms=%.3f target<%.0f %s (time in the handlers, %d timed)\n", t.name, p99, targetP99, loadgen.Verdict(p99 > 0 && p99 < targetP99), h.Count())
	fmt.Fprintf(b.out, "%s_max_ms=%.3f\n", t.name, ms(h.Quantile(1)))
	for _, typ := range []string{"personal", "similar"} {
		if th := b.s.timing.Of(path + "?type=" + typ); th != nil && th.Count() > 0 {
			fmt.Fprintf(b.out, "%s type=%s: p50_ms=%.3f p99_ms=%.3f max_ms=%.3f (time in the handlers, %d timed)\n",
				t.name, typ, ms(th.Quantile(0.50)), ms(th.Quantile(0.99)), ms(th.Quantile(1)), th.Count())
		}
	}
	if err := rep.Failure(t.name+" (open loop)", empty); err != nil {
		b.fail(err)
	}
	return p99, nil
}

// gcMidway waits until timed has counted half more requests, then
// starts a garbage collection cycle and waits for its end, unless ctx ends
// first or a cycle started meanwhile: so that every open-loop window holds
// one, as a replica's windows do over time, instead of by chance. It
// reports whether it started one.
func gcMidway(ctx context.Context, timed *meter.Histogram, half uint64) bool {
	cycles := func() uint32 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.NumGC
	}
	before, from := cycles(), timed.Count()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for timed.Count()-from < half {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	if cycles() != before {
		return false
	}
	runtime.GC()
	return true
}

// cost formats what a phase used as personalize's lines show it: the
// cores the servers' process kept busy, those the load generator's and
// other processes did, and the servers' GC cycles.
func cost(u meter.Usage) string {
	s := fmt.Sprintf("server_cores=%.2f load_generator_cores=%.2f", u.Cores(), u.LoadCores())
	if other, ok := u.OtherCores(); ok {
		s += fmt.Sprintf(" other_processes_cores=%.2f", other)
	}
	return s + fmt.Sprintf(" gc_cycles=%d", u.GCs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
