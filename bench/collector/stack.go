package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
	"github.com/ecrm/ecrm/collector"
	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/spool"
	"github.com/ecrm/ecrm/internal/web"
)

// pathBatch is the collector's intake, and the bare handler's route.
const pathBatch = "/v1/batch"

// Buckets of the collector's handler timing: 10µs wide up to 100ms, then
// one for the rest.
const (
	timingBucket  = 10 * time.Microsecond
	timingBuckets = 10_000
)

// stack is the collector as cmd/ecrm wires it, with its embedded broker,
// plus the bare Fiber app, all on loopback ports.
type stack struct {
	kcfg          kafka.Config
	relay         *relay.Relay
	timing        *meter.HandlerTiming // of the collector's intake
	collectorAddr string
	bareAddr      string
	dir           string                            // temporary: the broker's, the spool's, wrk's scripts
	metrics       prometheus.Gatherer               // the collector's and the relay's
	accepts       map[string]*loadgen.Accepts       // by address: the servers' connections
	stops         []func(ctx context.Context) error // run last first by Close
}

// startStack starts the broker, topics, spool, relay and collector app, and
// the bare app. On error it stops what it started.
func startStack(ctx context.Context, logger *slog.Logger) (_ *stack, err error) {
	s := &stack{timing: meter.NewHandlerTiming(timingBucket, timingBuckets, pathBatch), accepts: map[string]*loadgen.Accepts{}}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = errors.Join(err, s.Close(sctx))
		}
	}()

	dir, err := os.MkdirTemp("", "ecrm-bench-collector-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s.stops = append(s.stops, func(context.Context) error { return os.RemoveAll(dir) })
	s.dir = dir

	b, err := broker.Start("127.0.0.1:0", filepath.Join(dir, "kafka"))
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, func(context.Context) error { b.Close(); return nil })
	s.kcfg = kafka.Config{Brokers: []string{b.Addr()}}.WithDefaults()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = kafka.EnsureTopics(tctx, s.kcfg)
	cancel()
	if err != nil {
		return nil, err
	}

	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	s.metrics = reg
	s.relay = relay.New(s.kcfg, sp, relay.Options{}, logger, reg)
	go s.relay.Run()
	s.stops = append(s.stops, s.relay.Close)

	sites := new(site.Registry)
	if err := sites.Put(site.Demo); err != nil {
		return nil, err
	}
	col := collector.New(collector.Config{}, sites, s.relay, s.kcfg.Topics().Hits, logger, reg)
	app := web.NewApp(logger, nil)
	app.Use(s.timing.Middleware)
	col.Routes(app)
	if s.collectorAddr, err = s.serve(app); err != nil {
		return nil, err
	}

	bare := fiber.New(fiber.Config{BodyLimit: web.BodyLimit, DisableStartupMessage: true})
	bare.Post(pathBatch, func(c *fiber.Ctx) error {
		if len(c.Body()) == 0 {
			return c.SendStatus(fiber.StatusBadRequest)
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	if s.bareAddr, err = s.serve(bare); err != nil {
		return nil, err
	}
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

// Collector returns the collector's intake as a load target.
func (s *stack) Collector() target {
	return target{name: "collector", addr: s.collectorAddr, collector: true}
}

// Bare returns the bare handler as a load target.
func (s *stack) Bare() target { return target{name: "bare", addr: s.bareAddr} }

// Delivered flushes the relay, waits (30s at most) for the spool to be
// replayed, and returns the records in the hits topic and those still
// spooled.
func (s *stack) Delivered(ctx context.Context) (records int64, spooled int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.relay.Flush(ctx); err != nil {
		return 0, 0, fmt.Errorf("flush the relay: %w", err)
	}
	// A replayed batch is in Kafka before the spool forgets it, so a record
	// is never counted in both.
	for s.relay.Pending() > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	ends, err := kafka.EndOffsets(ctx, s.kcfg, s.kcfg.Topics().Hits)
	if err != nil {
		return 0, 0, err
	}
	for _, off := range ends {
		records += off
	}
	return records, s.relay.Pending(), nil
}

// Events returns the collector's count of the events it received, by
// result (ecrm_collector_events_total: accepted, or why not).
func (s *stack) Events() (map[string]uint64, error) {
	mfs, err := s.metrics.Gather()
	if err != nil {
		return nil, fmt.Errorf("collector metrics: %w", err)
	}
	events := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "ecrm_collector_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					events[l.GetValue()] += uint64(m.GetCounter().GetValue())
				}
			}
		}
	}
	if len(events) == 0 {
		return nil, errors.New("collector metrics: no ecrm_collector_events_total")
	}
	return events, nil
}

// Close stops the servers, then the relay (sending what it holds), the
// broker, and removes the temporary directory.
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
