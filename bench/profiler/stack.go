package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/collector"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/spool"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
)

// Readiness of the full stack.
const (
	readyWithin = 60 * time.Second      // for the stack to be ready and a canary visible
	readyPoll   = 10 * time.Millisecond // how often readiness is checked
)

// fullStack is the whole path of `ecrm run` but the admin routes and the
// config watcher: collector, relay, profiler and view on one broker.
type fullStack struct {
	*env
	mem  *member
	view *view.View
	addr string // the collector's host:port
}

// startFullStack starts the profiler, the view, the relay and the
// collector on a loopback listener, and waits until the member owns every
// partition and the view tails its topics. On error it stops what it
// started.
func startFullStack(ctx context.Context, logger *slog.Logger) (_ *fullStack, err error) {
	e, err := newEnv(ctx, "freshness", logger)
	if err != nil {
		return nil, err
	}
	s := &fullStack{env: e}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()
	if s.mem, err = e.startProfiler(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	vdb, err := e.openStore("personalize")
	if err != nil {
		return nil, err
	}
	v, err := view.New(e.kcfg, vdb, view.Options{}, logger, reg)
	if err != nil {
		return nil, err
	}
	e.onClose(func(context.Context) error { v.Close(); return nil })
	e.background("view", v.Run)
	s.view = v

	sp, err := spool.Open(filepath.Join(e.dir, "spool"), spool.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	rl := relay.New(e.kcfg, sp, relay.Options{}, logger, reg)
	go labelled(ctx, "relay", func(context.Context) { rl.Run() })
	e.onClose(rl.Close)
	sites := new(site.Registry)
	if err := sites.Put(site.Demo); err != nil {
		return nil, err
	}
	col := collector.New(collector.Config{}, sites, rl, e.topics.Hits, logger, reg)
	app := web.NewApp(logger, nil)
	col.Routes(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	done := make(chan error, 1)
	go labelled(ctx, "collector", func(context.Context) { done <- app.Listener(ln) })
	e.onClose(func(ctx context.Context) error {
		if err := app.ShutdownWithContext(ctx); err != nil {
			return err
		}
		return <-done
	})
	s.addr = ln.Addr().String()

	rctx, cancel := context.WithTimeout(ctx, readyWithin)
	defer cancel()
	for {
		c, err := gather(s.mem.reg)
		if err != nil {
			return nil, err
		}
		if s.mem.p.Ready() && c["ecrm_profiler_partitions_assigned"] == float64(e.kcfg.Partitions) && v.Ready() {
			return s, nil
		}
		select {
		case <-rctx.Done():
			return nil, fmt.Errorf("profiler and view not ready after %s: %w", readyWithin, rctx.Err())
		case <-time.After(readyPoll):
		}
	}
}
