package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/meter"
)

// Roles of a benchmark's process: the value of its -role flag.
const (
	RoleBench = "bench" // runs the benchmark: starts the servers, runs the phases, prints the figures
	RoleLoad  = "load"  // the load generator of one phase, in a process of its own
)

// Modes of a load generator: the value of its -mode flag.
const (
	Closed = "closed" // connections sending back to back (ClosedLoop)
	Open   = "open"   // requests scheduled at a rate (OpenLoop)
)

// Open loops' senders: the value of a Phase's Sender.
const (
	GoLoop     = "go"    // OpenLoop
	EventLoops = "event" // EventLoop, with EventThreads(rate) threads
)

// EventThreads returns how many event loops send rate requests a second:
// one for each 50,000, at most one a core.
func EventThreads(rate float64) int { return max(1, min(runtime.NumCPU(), 1+int(rate/50_000))) }

// Phase is one run of a load generator against one target.
type Phase struct {
	Mode     string        // Closed or Open
	Duration time.Duration // measured: after the warm-up (closed loop), the schedule (open loop)
	Warmup   time.Duration // closed loop: how long it sends before counting
	Conns    int           // closed loop: the connections, each sending back to back
	Rate     float64       // open loop: requests scheduled a second
	Workers  int           // open loop: the senders, each with its own connection
	Timeout  time.Duration // how long one request may take to be written or answered
	// Sender is the open loop's: GoLoop (OpenLoop, a goroutine and a
	// fasthttp client a worker, the default) or EventLoops (EventLoop,
	// whose senders must be RawSenders).
	Sender string
}

// Limit bounds how long the phase's load generator may run: its schedule
// (the warm-up included), the last answers' timeout, and a margin.
func (p Phase) Limit() time.Duration {
	d := p.Duration + p.Timeout + 10*time.Second
	if p.Mode == Closed {
		d += p.Warmup
	}
	return d
}

// Report is what a load generator's process prints on its standard
// output, as JSON, when its phase is over.
type Report struct {
	Tally Tally `json:"tally"`
	// Open loop only.
	Scheduled  int           `json:"scheduled,omitempty"`
	Unsent     int           `json:"unsent,omitempty"`
	Latencies  int           `json:"latencies,omitempty"` // successful requests timed
	LatencyP50 time.Duration `json:"latency_p50_ns,omitempty"`
	LatencyP99 time.Duration `json:"latency_p99_ns,omitempty"`
	LatencyMax time.Duration `json:"latency_max_ns,omitempty"`
	LagP50     time.Duration `json:"lag_p50_ns,omitempty"`
	LagP99     time.Duration `json:"lag_p99_ns,omitempty"`
	Waited     int           `json:"waited,omitempty"` // sent after waiting for a connection (event loop)
	// WindowP99 is the latencies' 99th percentile in each ReportWindow of
	// the schedule, by due time, when the run is longer than one: how
	// much of the run's p99 one stretch of it makes.
	WindowP99 []time.Duration `json:"window_p99_ns,omitempty"`
	// The generator's own costs.
	CPU          time.Duration `json:"cpu_ns"`
	SchedWaitP99 time.Duration `json:"sched_wait_p99_ns"`
	GCs          uint64        `json:"gc_cycles"`
}

// Failure returns an error describing unsent or failed requests, if any,
// after "<name>: "; refused is as for Tally.Failure.
func (r *Report) Failure(name, refused string) error {
	if r.Unsent > 0 {
		return fmt.Errorf("%s: %d of %d scheduled requests not sent by the deadline", name, r.Unsent, r.Scheduled)
	}
	return r.Tally.Failure(name, refused)
}

// Serve is the load generator's process: it runs ph against the server
// at addr, with a Sender from newSender for each connection (closed loop)
// or worker (open loop), all over one client, and prints its Report on
// out as JSON: for the closed loop the tally, whose window is counted as
// ClosedLoop does; for the open loop every successful answer counts in the
// window, with the latencies' and dispatch lags' quantiles. Both report
// this process's CPU time, its goroutines' wait for a core and its GC
// cycles. It fails when the phase has not ended within ph.Limit().
func Serve(ctx context.Context, ph Phase, addr string, newSender func(*fasthttp.HostClient) Sender, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, ph.Limit())
	defer cancel()
	n := ph.Conns
	if ph.Mode == Open {
		n = ph.Workers
		if ph.Sender == EventLoops {
			n = EventThreads(ph.Rate)
		}
	}
	m := meter.Start()
	client := NewClient(addr, n, ph.Timeout)
	senders := make([]Sender, n)
	for i := range senders {
		senders[i] = newSender(client)
	}
	var rep Report
	switch ph.Mode {
	case Closed:
		window := ClosedLoop(ctx, ph.Conns, ph.Warmup, ph.Duration, func(c int) bool { return senders[c].Send() })
		rep.Tally = sum(senders)
		rep.Tally.Window = window
	case Open:
		s := Schedule{Rate: ph.Rate, Duration: ph.Duration, Timeout: ph.Timeout, Workers: ph.Workers}
		var res *OpenResult
		if ph.Sender == EventLoops {
			raw := make([]RawSender, len(senders))
			for i, sn := range senders {
				r, ok := sn.(RawSender)
				if !ok {
					return fmt.Errorf("load generator: %T cannot send in an event loop", sn)
				}
				raw[i] = r
			}
			var err error
			if res, err = (EventLoop{Addr: addr, Threads: len(raw)}).Run(ctx, s, raw); err != nil {
				return err
			}
		} else {
			res = OpenLoop(ctx, s, func(w int, _ int64, _, _ time.Time) bool { return senders[w].Send() })
		}
		rep.Tally = sum(senders)
		rep.Tally.Window = rep.Tally.OK
		rep.Scheduled, rep.Unsent, rep.Waited = res.Scheduled, res.Unsent, res.Waited
		rep.Latencies = len(res.Latencies)
		if ph.Duration > ReportWindow { // first: Quantile sorts res.Latencies, out of Due's order
			rep.WindowP99 = WindowQuantiles(res.Latencies, res.Due, ReportWindow, ph.Duration, 0.99)
		}
		rep.LatencyP50, rep.LatencyP99, rep.LatencyMax = meter.Quantile(res.Latencies, 0.50), meter.Quantile(res.Latencies, 0.99), meter.Quantile(res.Latencies, 1)
		rep.LagP50, rep.LagP99 = meter.Quantile(res.Lags, 0.50), meter.Quantile(res.Lags, 0.99)
	default:
		return fmt.Errorf("load generator: -mode %q is neither closed nor open", ph.Mode)
	}
	client.CloseIdleConnections()
	u := m.Stop(0)
	rep.CPU, rep.SchedWaitP99, rep.GCs = u.Own, u.SchedWaitP99, u.GCs
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load generator: %w", err)
	}
	return json.NewEncoder(out).Encode(&rep)
}

// ReportWindow is the width of the stretches of an open-loop run whose
// p99 a Report gives one by one.
const ReportWindow = 10 * time.Second

// WindowQuantiles returns the q-quantile of the latencies lat of the
// requests due at due (since the start, lat's order) in each window of
// width of a run of duration d, the last one shorter when width does not
// divide d; a window without latencies has 0.
func WindowQuantiles(lat, due []time.Duration, width, d time.Duration, q float64) []time.Duration {
	n := int((d + width - 1) / width)
	by := make([][]time.Duration, n)
	for i, l := range lat {
		w := min(max(int(due[i]/width), 0), n-1)
		by[w] = append(by[w], l)
	}
	out := make([]time.Duration, n)
	for w, ls := range by {
		out[w] = meter.Quantile(ls, q)
	}
	return out
}

// sum returns the senders' tallies added up.
func sum(senders []Sender) Tally {
	var t Tally
	for _, s := range senders {
		t.Add(s.Tally())
	}
	return t
}

// Run is a load generator's phase as the benchmark's process starts it
// with Spawn.
type Run struct {
	Name string // the target's, in messages
	Phase
	// Args are the program's flags for its load generator: -target and
	// whatever else it needs.
	Args []string
	// CPUProfile and MemProfile name files for this process's CPU and
	// allocation profiles over the phase, if set (see meter.StartProfile).
	CPUProfile, MemProfile string
	// Stderr receives the load generator's standard error.
	Stderr io.Writer
}

// Spawn runs r's load generator in a process of its own: this program
// started again with -role=load, -name, r.Args and r.Phase as flags. It
// returns the report the process printed (see Serve) and what this
// process, the servers', used meanwhile, the generator's CPU time counted
// apart (as Usage.Load), profiling it if r asks. The process is killed if
// it outlives r.Limit() by 5 seconds.
func Spawn(ctx context.Context, r Run) (*Report, meter.Usage, error) {
	stopProfile, err := meter.StartProfile(r.CPUProfile, r.MemProfile)
	if err != nil {
		return nil, meter.Usage{}, err
	}
	m := meter.Start()
	rep, err := spawn(ctx, r)
	if err != nil {
		stopProfile()
		return nil, meter.Usage{}, err
	}
	usage := m.Stop(rep.CPU)
	if err := stopProfile(); err != nil {
		return nil, meter.Usage{}, err
	}
	return rep, usage, nil
}

// spawn runs r's load generator and returns its report.
func spawn(ctx context.Context, r Run) (*Report, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start the load generator: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.Limit()+5*time.Second)
	defer cancel()
	args := append([]string{"-role=" + RoleLoad, "-name=" + r.Name}, r.Args...)
	args = append(args,
		"-mode="+r.Mode, "-duration="+r.Duration.String(), "-warmup="+r.Warmup.String(),
		"-timeout="+r.Timeout.String(), fmt.Sprintf("-conns=%d", r.Conns),
		fmt.Sprintf("-rate=%g", r.Rate), fmt.Sprintf("-workers=%d", r.Workers))
	if r.Sender != "" {
		args = append(args, "-sender="+r.Sender)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = r.Stderr
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(err, ctxErr)
		}
		return nil, fmt.Errorf("load generator (%s, %s): %w", r.Name, r.Mode, err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("load generator (%s, %s): report %q: %w", r.Name, r.Mode, out.Bytes(), err)
	}
	return &rep, nil
}
