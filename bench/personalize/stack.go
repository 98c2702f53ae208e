package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/statsview"
	"github.com/ecrm/ecrm/internal/store"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
	"github.com/ecrm/ecrm/personalize"
)

// Paths of the routes under load.
const (
	pathRecommend = "/v1/recommend"
	pathDecide    = "/v1/decide"
)

// Buckets of the handler timing: 1µs wide up to 100ms, then one for the
// rest.
const (
	timingBucket  = time.Microsecond
	timingBuckets = 100_000
)

// bareAnswer is what the bare handler answers: a small fixed JSON.
var bareAnswer = []byte(`{"type":"personal","items":[]}`)

// dropPublisher stands for the Kafka producers: it counts the records it
// is given and drops them. It is safe for concurrent use.
type dropPublisher struct{ records atomic.Uint64 }

var _ personalize.Publisher = (*dropPublisher)(nil)

// Publish counts msgs.
func (p *dropPublisher) Publish(_ context.Context, msgs ...kafka.Message) error {
	p.records.Add(uint64(len(msgs)))
	return nil
}

// answerCounts counts, in the servers, the answers the load generators
// cannot all read (wrk does not look at bodies): recommendations without
// items, and decisions naming a group, each of which must have recorded
// an exposure. A prefix test and a search of a 200-byte answer: nothing
// the figures would show.
type answerCounts struct {
	empty   atomic.Uint64 // 2xx recommend answers without an item
	grouped atomic.Uint64 // decide answers with a group
}

// answerStart is how a recommendation with an item starts.
var answerStart = []byte(`{"items":[{`)

func (a *answerCounts) middleware(c *fiber.Ctx) error {
	err := c.Next()
	resp := c.Response()
	switch c.Path() {
	case pathRecommend:
		if err == nil && resp.StatusCode()/100 == 2 && !bytes.HasPrefix(resp.Body(), answerStart) {
			a.empty.Add(1)
		}
	case pathDecide:
		if bytes.Contains(resp.Body(), aGroup) {
			a.grouped.Add(1)
		}
	}
	return err
}

// stack is personalize as cmd/ecrm wires it, over state built in this
// process instead of read from Kafka, plus the bare app, on loopback ports.
type stack struct {
	dir       string
	db        *store.DB
	view      *view.View
	metrics   *prometheus.Registry // the view's cache counters
	exposures *dropPublisher
	timing    *meter.HandlerTiming
	answers   answerCounts
	accepts   map[string]*loadgen.Accepts // by address: the servers' connections
	appAddr   string
	bareAddr  string
	stops     []func(ctx context.Context) error // run last first by Close
}

// startStack builds the state of w in a Pebble store in a temporary
// directory (see buildState), and the view over it, then serves
// personalize's page routes and decisions on the Fiber app of web.NewApp,
// and the bare handler on another. On error it stops what it started.
func startStack(ctx context.Context, w *world, cfg config, logger *slog.Logger, out io.Writer) (_ *stack, err error) {
	s := &stack{metrics: prometheus.NewRegistry(), exposures: new(dropPublisher), accepts: map[string]*loadgen.Accepts{},
		timing: meter.NewHandlerTiming(timingBucket, timingBuckets, pathRecommend, pathRecommend+"?type=personal", pathRecommend+"?type=similar", pathDecide)}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = errors.Join(err, s.Close(sctx))
		}
	}()
	start := time.Now()

	if s.dir, err = os.MkdirTemp("", "ecrm-bench-personalize-"); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s.stops = append(s.stops, func(context.Context) error { return os.RemoveAll(s.dir) })
	if s.db, err = store.Open(filepath.Join(s.dir, "personalize"), logger); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func(context.Context) error { return s.db.Close() })
	st, err := buildState(ctx, w, cfg, s.db, out)
	if err != nil {
		return nil, err
	}
	// The bulk load leaves compactions behind that a replica filled from
	// the topics over time does not have: let them finish first.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	waited, err := s.db.Settle(sctx)
	cancel()
	settled := "settled"
	if err != nil {
		settled = "still compacting, measuring anyway"
	}
	fmt.Fprintf(out, "build store: %s after seconds=%.1f (flush and compactions after the bulk load)\n", settled, waited.Seconds())

	// The view needs a Kafka config only for Run, which tails the topics:
	// the store is already filled, so Run is never called.
	kcfg := kafka.Config{}.WithDefaults()
	opened := time.Now()
	if s.view, err = view.New(kcfg, s.db, view.Options{CacheBytes: int64(cfg.CacheMiB) << 20}, logger, s.metrics); err != nil {
		return nil, err
	}
	vm := s.view.Memory()
	fmt.Fprintf(out, "build view: seconds=%.1f identifiers=%d briefs=%d memory_mib=%.0f (loaded from the store at open)\n",
		time.Since(opened).Seconds(), vm.Identifiers, vm.Briefs, mib(int64(vm.Bytes)))
	s.stops = append(s.stops, func(context.Context) error { s.view.Close(); return nil })

	sites := new(site.Registry)
	if err := sites.Put(site.Demo); err != nil {
		return nil, err
	}
	config := new(dropPublisher) // erasures and campaign edits: never sent here
	pers := personalize.New(personalize.Options{View: s.view, Pub: config, Topics: kcfg.Topics(), Model: st.model, Catalog: st.catalog, Sites: sites})
	decisions := personalize.NewDecisions(pers, st.campaigns, s.exposures, config, statsview.New(kcfg, logger))

	app := web.NewApp(logger, nil)
	app.Use(s.timing.Middleware)
	app.Use(s.answers.middleware)
	pers.PageRoutes(app)
	decisions.Routes(app, web.AdminAuth(randomToken()))
	app.Use(func(c *fiber.Ctx) error {
		return web.Errorf(fiber.StatusNotFound, "no route "+c.Method()+" "+c.Path())
	})
	if s.appAddr, err = s.serve(app); err != nil {
		return nil, err
	}
	bare := web.NewApp(logger, nil)
	bare.Get("/*", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(bareAnswer)
	})
	if s.bareAddr, err = s.serve(bare); err != nil {
		return nil, err
	}

	fmt.Fprintf(out, "build done: seconds=%.1f heap_alloc_mib=%.0f rss_mib=%.0f store_dir_mib=%.0f view_cache_mib=%d\n",
		time.Since(start).Seconds(), mib(int64(heapAlloc())), mib(rss()), mib(dirSize(s.dir)), cfg.CacheMiB)
	return s, nil
}

// serve serves app on a free loopback port and returns its address.
func (s *stack) serve(app *fiber.App) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	ln := loadgen.CountAccepts(l)
	s.accepts[ln.Addr().String()] = ln
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	s.stops = append(s.stops, func(ctx context.Context) error {
		if err := app.ShutdownWithContext(ctx); err != nil {
			return err
		}
		return <-done
	})
	return ln.Addr().String(), nil
}

// Bare returns the bare handler as a load target.
func (s *stack) Bare() target { return target{name: "bare", kind: kindBare, addr: s.bareAddr} }

// Recommend returns GET /v1/recommend as a load target.
func (s *stack) Recommend() target {
	return target{name: "recommend", kind: kindRecommend, addr: s.appAddr}
}

// Decide returns GET /v1/decide as a load target.
func (s *stack) Decide() target { return target{name: "decide", kind: kindDecide, addr: s.appAddr} }

// startCacheCount returns a function that formats the share of the
// view's profile reads answered from its in-memory hot set since now, and
// how many reads there were.
func (s *stack) startCacheCount() func() string {
	hits, misses := s.cacheCounts()
	return func() string {
		h, m := s.cacheCounts()
		h, m = h-hits, m-misses
		if h+m == 0 {
			return "none (no profile read: the briefs in memory answered)"
		}
		return fmt.Sprintf("%.2f (of %.0f profile reads)", h/max(h+m, 1), h+m)
	}
}

// cacheCounts returns the view's reads answered from its hot set and those
// that went to the store, so far.
func (s *stack) cacheCounts() (hits, misses float64) {
	mfs, err := s.metrics.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "ecrm_view_cache_hits_total":
				hits += m.GetCounter().GetValue()
			case "ecrm_view_cache_misses_total":
				misses += m.GetCounter().GetValue()
			}
		}
	}
	return hits, misses
}

// Close stops the servers, closes the view and the store, and removes the
// temporary directory.
func (s *stack) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		if err := s.stops[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.stops = nil
	return errors.Join(errs...)
}

// rss returns the bytes of memory the process holds (VmRSS), the heap
// and what Pebble allocates outside it, or 0 where Linux's /proc is not.
func rss() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// heapAlloc returns the bytes of live heap objects, after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// dirSize returns the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// randomToken returns an admin token nobody knows: the admin routes are
// not under test.
func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeHeapProfile writes the heap profile, as of the last garbage
// collection, to file.
func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
