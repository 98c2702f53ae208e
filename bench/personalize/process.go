package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"time"
)

// Roles of a process of the benchmark.
const (
	roleBench = "bench" // builds the state, serves, runs the phases, prints the figures
	roleLoad  = "load"  // the load generator of one phase, in a process of its own
)

// Modes of the load generator.
const (
	modeClosed = "closed"
	modeOpen   = "open"
)

// loadReport is what the load generator's process prints on its standard
// output, as JSON, when its phase is over.
type loadReport struct {
	Tally tally `json:"tally"`
	// Open loop only.
	Scheduled  int           `json:"scheduled,omitempty"`
	Unsent     int           `json:"unsent,omitempty"`
	Latencies  int           `json:"latencies,omitempty"` // successful requests timed
	LatencyP50 time.Duration `json:"latency_p50_ns,omitempty"`
	LatencyP99 time.Duration `json:"latency_p99_ns,omitempty"`
	LatencyMax time.Duration `json:"latency_max_ns,omitempty"`
	LagP99     time.Duration `json:"lag_p99_ns,omitempty"`
	// CPU is the generator's own CPU time.
	CPU time.Duration `json:"cpu_ns"`
}

// failure returns an error describing failed or unsent requests, if any.
func (r *loadReport) failure(name string) error {
	if r.Unsent > 0 {
		return fmt.Errorf("%s: %d of %d scheduled requests not sent by the deadline", name, r.Unsent, r.Scheduled)
	}
	return r.Tally.failure(name)
}

// phaseLimit bounds a load generator's run of mode: its schedule, the
// last answers' timeout, and a margin.
func phaseLimit(cfg config, mode string) time.Duration {
	d := cfg.Duration + cfg.Timeout + 10*time.Second
	if mode == modeClosed {
		d += cfg.Warmup
	}
	return d
}

// runLoad is the load generator's process: it sends one phase's requests
// to cfg.Target and prints a loadReport on stdout.
func runLoad(ctx context.Context, cfg config, stdout io.Writer) error {
	t, err := loadTarget(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, phaseLimit(cfg, cfg.Mode))
	defer cancel()
	w := newWorld(cfg.Seed, cfg.Profiles, cfg.Items, time.Now())
	w.active = cfg.Active
	cpu := cpuTime()
	var rep loadReport
	switch cfg.Mode {
	case modeClosed:
		rep.Tally = *closedLoop(ctx, t, w, cfg)
	case modeOpen:
		res := openLoop(ctx, t, w, cfg.Rate, cfg.Workers, cfg)
		rep.Tally, rep.Scheduled, rep.Unsent = res.tally, res.scheduled, res.unsent
		rep.Latencies = len(res.latencies)
		rep.LatencyP50, rep.LatencyP99, rep.LatencyMax = quantile(res.latencies, 0.50), quantile(res.latencies, 0.99), quantile(res.latencies, 1)
		rep.LagP99 = quantile(res.lags, 0.99)
	}
	rep.CPU = cpuTime() - cpu
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load generator: %w", err)
	}
	return json.NewEncoder(stdout).Encode(&rep)
}

// loadTarget returns the target cfg names, which must be on a loopback
// address.
func loadTarget(cfg config) (target, error) {
	u, err := url.Parse(cfg.Target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return target{}, fmt.Errorf("-target %q is not an http URL", cfg.Target)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return target{}, fmt.Errorf("-target %q is not on a loopback address and port", cfg.Target)
	}
	return target{name: cfg.Name, kind: cfg.Kind, addr: u.Host}, nil
}

// spawnLoad runs a load generator of mode against t in a process of its
// own, this program started again with -role=load, and returns its report.
// The process is killed if it outlives its phase.
func (b *bench) spawnLoad(ctx context.Context, t target, mode string, rate float64, workers int) (*loadReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start the load generator: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, phaseLimit(b.cfg, mode)+5*time.Second)
	defer cancel()
	args := []string{
		"-role=" + roleLoad, "-mode=" + mode, "-name=" + t.name, "-kind=" + t.kind,
		"-target=http://" + t.addr + "/",
		fmt.Sprintf("-seed=%d", b.cfg.Seed), fmt.Sprintf("-profiles=%d", b.cfg.Profiles), fmt.Sprintf("-items=%d", b.cfg.Items),
		fmt.Sprintf("-active=%d", b.cfg.Active),
		"-duration=" + b.cfg.Duration.String(), "-warmup=" + b.cfg.Warmup.String(),
		"-timeout=" + b.cfg.Timeout.String(), fmt.Sprintf("-conns=%d", b.cfg.Conns),
		fmt.Sprintf("-rate=%g", rate), fmt.Sprintf("-workers=%d", workers),
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = b.stderr
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return nil, fmt.Errorf("load generator (%s, %s): %w", t.name, mode, err)
	}
	var rep loadReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("load generator (%s, %s): report %q: %w", t.name, mode, out.Bytes(), err)
	}
	return &rep, nil
}
