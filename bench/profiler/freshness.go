package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ecrm/ecrm/bench/internal/meter"
)

// freshness runs the open loop against the full stack and returns the
// probes' 99th percentile freshness in milliseconds; outcomes that are
// wrong go to fail.
func freshness(ctx context.Context, cfg config, logger *slog.Logger, out io.Writer, fail func(error)) (p99 float64, err error) {
	g, err := newGenerator(cfg.Visitors)
	if err != nil {
		return 0, err
	}
	started := time.Now()
	s, err := startFullStack(ctx, logger)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	if err := canary(ctx, s, g, cfg, out, started); err != nil {
		return 0, err
	}
	g.resetMix()

	n := int64(cfg.Rate * cfg.Duration.Seconds())
	probes := make(chan *probe, probeCount(n, cfg.ProbeEvery)+1)
	pl := &poller{v: s.view, timeout: cfg.ProbeTimeout}
	pctx, cancel := context.WithTimeout(ctx, cfg.Duration+cfg.Timeout+cfg.ProbeTimeout+10*time.Second)
	defer cancel()
	polled := make(chan struct{})
	go labelled(pctx, "probes", func(ctx context.Context) { pl.run(ctx, probes); close(polled) })

	loadDone := sync.OnceFunc(func() { close(probes); <-polled })
	defer loadDone() // on early returns
	stopProfile, err := meter.StartProfile(cfg.FreshProfile, "")
	if err != nil {
		return 0, err
	}
	defer func() { _ = stopProfile() }() // on early returns; checked below
	before, err := gather(s.mem.reg)
	if err != nil {
		return 0, err
	}
	m := meter.Start()
	res := openLoop(pctx, &loadSpec{
		addr: s.addr, g: g, rate: cfg.Rate, duration: cfg.Duration, workers: cfg.workers(),
		probeEvery: cfg.ProbeEvery, timeout: cfg.Timeout, probes: probes,
	})
	loadDone()
	usage := m.Stop(0)
	if err := stopProfile(); err != nil {
		return 0, err
	}
	after, err := gather(s.mem.reg)
	if err != nil {
		return 0, err
	}

	fmt.Fprintf(out, "freshness: open loop rate=%g/s workers=%d scheduled=%d sent=%d unsent=%d achieved=%.0f/s %s mix:%s\n",
		cfg.Rate, cfg.workers(), res.Scheduled, len(res.Lags), res.Unsent, float64(res.OK)/cfg.Duration.Seconds(), counts(&res.Tally), g.mix())
	fmt.Fprintf(out, "freshness: dispatch_lag_p50_ms=%.3f dispatch_lag_p99_ms=%.3f (the generator's lateness, counted in freshness) %s\n",
		ms(meter.Quantile(res.Lags, 0.50)), ms(meter.Quantile(res.Lags, 0.99)), cost(usage))
	fmt.Fprintf(out, "freshness: profiler records during the run: hit=%.0f merge=%.0f absorb=%.0f forward=%.0f\n",
		after.records("hit")-before.records("hit"), after.records("merge")-before.records("merge"),
		after.records("absorb")-before.records("absorb"), after.records("forward")-before.records("forward"))
	fmt.Fprintf(out, "freshness: probes=%d of %d scheduled, visible=%d lost=%d request_failed=%d lookup_errors=%d lookups=%d (every %s)\n",
		pl.probes, probeCount(n, cfg.ProbeEvery), len(pl.fresh), pl.lost, pl.failed, pl.errs, pl.lookups, probePoll)
	fmt.Fprintf(out, "freshness: from the actual send (the generator's lateness left out): path_p50_ms=%.1f path_p99_ms=%.1f path_max_ms=%.1f\n",
		ms(meter.Quantile(pl.path, 0.50)), ms(meter.Quantile(pl.path, 0.99)), ms(meter.Quantile(pl.path, 1)))
	fmt.Fprintf(out, "freshness_p50_ms=%.1f\n", ms(meter.Quantile(pl.fresh, 0.50)))
	fmt.Fprintf(out, "freshness_p90_ms=%.1f\n", ms(meter.Quantile(pl.fresh, 0.90)))
	fmt.Fprintf(out, "freshness_p99_ms=%.1f\n", ms(meter.Quantile(pl.fresh, 0.99)))
	fmt.Fprintf(out, "freshness_max_ms=%.1f\n", ms(meter.Quantile(pl.fresh, 1)))

	if err := res.Tally.Failure("freshness load", unaccepted); err != nil {
		fail(err)
	}
	if res.Unsent > 0 {
		fail(fmt.Errorf("freshness load: %d of %d scheduled hits not sent by the deadline", res.Unsent, res.Scheduled))
	}
	if pl.lost > 0 {
		fail(fmt.Errorf("%d probes never became visible in the view within %s", pl.lost, cfg.ProbeTimeout))
	}
	if pl.errs > 0 {
		fail(fmt.Errorf("%d view lookups failed; first: %s", pl.errs, pl.errMsg))
	}
	if len(pl.fresh) == 0 {
		fail(errors.New("no probe became visible: no freshness measured"))
	}
	return ms(meter.Quantile(pl.fresh, 0.99)), nil
}
