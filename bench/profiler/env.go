package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/store"
)

// env is one phase's world: a temporary directory, an embedded broker on a
// loopback port with ecrm's topics, and what the phase starts on it, each
// with the step that stops it.
type env struct {
	dir    string
	kcfg   kafka.Config
	topics kafka.Topics
	log    *slog.Logger
	stops  []func(ctx context.Context) error // run last first by Close
}

// newEnv starts the broker and creates the topics (8 partitions each). On
// error it stops what it started.
func newEnv(ctx context.Context, name string, logger *slog.Logger) (_ *env, err error) {
	e := &env{log: logger}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()
	e.dir, err = os.MkdirTemp("", "ecrm-bench-profiler-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	dir := e.dir
	e.onClose(func(context.Context) error { return os.RemoveAll(dir) })
	var b *broker.Broker
	// Its goroutines inherit the label, so CPU profiles tell its share.
	labelled(ctx, "broker", func(context.Context) { b, err = broker.Start("127.0.0.1:0", filepath.Join(dir, "kafka")) })
	if err != nil {
		return nil, err
	}
	e.onClose(func(context.Context) error { b.Close(); return nil })
	e.kcfg = kafka.Config{Brokers: []string{b.Addr()}, Partitions: kafka.DefaultPartitions}.WithDefaults()
	e.topics = e.kcfg.Topics()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = kafka.EnsureTopics(tctx, e.kcfg)
	cancel()
	if err != nil {
		return nil, err
	}
	return e, nil
}

// onClose registers a shutdown step; Close runs them last first.
func (e *env) onClose(fn func(ctx context.Context) error) { e.stops = append(e.stops, fn) }

// background runs fn until the context it is given is cancelled by the
// shutdown step registered for it, which waits for fn to return.
func (e *env) background(name string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		labelled(ctx, name, func(ctx context.Context) {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("stopped with an error", "part", name, "err", err)
			}
		})
	})
	e.onClose(func(sctx context.Context) error {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-sctx.Done():
			return fmt.Errorf("%s did not stop in time", name)
		}
	})
}

// openStore opens a Pebble store in the phase's directory, closed by Close.
func (e *env) openStore(name string) (*store.DB, error) {
	db, err := store.Open(filepath.Join(e.dir, name), e.log)
	if err != nil {
		return nil, err
	}
	e.onClose(func(context.Context) error { return db.Close() })
	return db, nil
}

// member is a running profiler group member.
type member struct {
	p   *profiler.Profiler
	db  *store.DB
	reg *prometheus.Registry
}

// startProfiler starts one profiler member as `ecrm run` does: its own
// store, a synchronous producer, an empty segment registry, metrics in a
// registry of its own.
func (e *env) startProfiler() (*member, error) {
	db, err := e.openStore("profiler")
	if err != nil {
		return nil, err
	}
	// The options of cmd/ecrm/serve.go's profiler producer: lz4, 64 records a request.
	out := kafka.NewProducer(e.kcfg, false, kafka.ProducerOptions{Fast: true, BatchSize: 64})
	e.onClose(func(context.Context) error { return out.Close() })
	reg := prometheus.NewRegistry()
	p := profiler.New(e.kcfg, profiler.Config{Segments: new(segment.Registry)}, db, out, e.log, reg)
	e.background("profiler", p.Run)
	return &member{p: p, db: db, reg: reg}, nil
}

// committed returns the next offset of the hits topic's partition that the
// member has committed to its store: the key s/<partition>/o that
// internal/profiler documents ("Store keys", profiler.go), 0 when absent.
func (m *member) committed(partition int) (int64, error) {
	v, err := m.db.Get(fmt.Appendf(nil, "s/%05d/o", partition))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stored offset of partition %d is %d bytes, want 8", partition, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// caughtUp reports whether the member has committed every partition up to
// ends.
func (m *member) caughtUp(ends map[int]int64) (bool, error) {
	for part, end := range ends {
		off, err := m.committed(part)
		if err != nil {
			return false, err
		}
		if off < end {
			return false, nil
		}
	}
	return true, nil
}

// labelled runs fn with the CPU profile label part=name, which the
// goroutines it starts inherit: `go tool pprof -tags` splits a profile by
// part (broker, profiler, view, relay, collector, load, probes).
func labelled(ctx context.Context, name string, fn func(ctx context.Context)) {
	pprof.Do(ctx, pprof.Labels("part", name), fn)
}

// Close runs the shutdown steps, last registered first, within 30 seconds:
// servers, then producers and consumers, stores, the broker, and the
// temporary directory.
func (e *env) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for i := len(e.stops) - 1; i >= 0; i-- {
		if err := e.stops[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	e.stops = nil
	return errors.Join(errs...)
}
