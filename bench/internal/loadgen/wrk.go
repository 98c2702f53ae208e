package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ecrm/ecrm/bench/internal/meter"
)

// Wrk is a closed-loop run of wrk (https://github.com/wg/wrk, Debian's
// package wrk): Threads threads keeping Conns keep-alive connections busy
// for Duration, each sending its next request as soon as the last is
// answered, the requests built by the Lua Script.
//
// wrk is the benchmarks' closed loop where the rate is judged against a
// bare handler: written in C over epoll, it spends about the same CPU on a
// request whatever the server's latency (6–7 µs here), so the two share
// the machine's cores alike. The Go generator's process (ClosedLoop) spends
// more on a slower server's requests, in its scheduler's idle path, and
// leaves cores idle: it measures part of itself in the ratio.
type Wrk struct {
	Threads  int
	Conns    int
	Duration time.Duration
	Script   string // path of the Lua script
	URL      string // on 127.0.0.1
}

// WrkResult is what a wrk run reports, and the CPU time its process used.
type WrkResult struct {
	Requests int64         // answers received
	Elapsed  time.Duration // as wrk measured it
	Non2xx   int64         // answers with a status other than 2xx or 3xx
	// Socket errors: connections that failed, reads and writes that
	// failed, requests unanswered within wrk's timeout (2 s).
	Connect, Read, Write, Timeout int64
	CPU                           time.Duration // wrk's, user and system
	Output                        string
}

// Rate returns the answers per second.
func (r WrkResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Errors returns the socket errors.
func (r WrkResult) Errors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// Failure returns an error naming name when an answer was not 2xx or a
// request failed, nil otherwise.
func (r WrkResult) Failure(name string) error {
	if r.Non2xx == 0 && r.Errors() == 0 {
		return nil
	}
	return fmt.Errorf("%s (wrk): %d answers were not 2xx; socket errors: connect %d, read %d, write %d, timeout %d",
		name, r.Non2xx, r.Connect, r.Read, r.Write, r.Timeout)
}

// ErrNoWrk is returned when wrk is not installed.
var ErrNoWrk = errors.New("wrk is not installed (apt-get install -y wrk)")

// WrkPath returns the path of wrk, or ErrNoWrk.
func WrkPath() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", ErrNoWrk
	}
	return p, nil
}

// Run runs wrk and returns what it reported. It fails when wrk cannot
// run, exits non-zero, or prints no request count.
func (w Wrk) Run(ctx context.Context) (WrkResult, error) {
	res, _, err := w.run(ctx, nil)
	return res, err
}

// RunMetered runs wrk and meters this process (the servers') from when
// started reports true until wrk exits; the load generator's CPU time
// (meter.Usage.Load) is wrk's over the same span. started should report
// that wrk's connections are open: its threads then run its script's
// requests, after the script's init (which may load data) is over.
func (w Wrk) RunMetered(ctx context.Context, started func() bool) (WrkResult, meter.Usage, error) {
	return w.run(ctx, started)
}

func (w Wrk) run(ctx context.Context, started func() bool) (WrkResult, meter.Usage, error) {
	path, err := WrkPath()
	if err != nil {
		return WrkResult{}, meter.Usage{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, w.Duration+time.Minute)
	defer cancel()
	secs := max(int(w.Duration.Round(time.Second)/time.Second), 1)
	cmd := exec.CommandContext(ctx, path, "-t", strconv.Itoa(w.Threads), "-c", strconv.Itoa(w.Conns),
		"-d", strconv.Itoa(secs)+"s", "-s", w.Script, w.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return WrkResult{}, meter.Usage{}, fmt.Errorf("wrk %s: %w", w.URL, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var (
		m       *meter.Meter
		loadCPU time.Duration // wrk's when m started
		werr    error
	)
	if started == nil {
		m = meter.Start()
		werr = <-exited
	} else {
		tick := time.NewTicker(time.Millisecond)
	wait:
		for {
			select {
			case werr = <-exited:
				break wait
			case <-tick.C:
				if started() {
					loadCPU, m = processCPU(cmd.Process.Pid), meter.Start()
					werr = <-exited
					break wait
				}
			}
		}
		tick.Stop()
	}
	if werr != nil {
		return WrkResult{}, meter.Usage{}, fmt.Errorf("wrk %s: %w: %s", w.URL, werr, out.Bytes())
	}
	if m == nil {
		return WrkResult{}, meter.Usage{}, fmt.Errorf("wrk %s: exited before it connected: %s", w.URL, out.Bytes())
	}
	res, err := ParseWrk(out.String())
	if err != nil {
		return WrkResult{}, meter.Usage{}, err
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, m.Stop(res.CPU - loadCPU), nil
}

// processCPU returns the CPU time, user and system, process pid has used
// so far (/proc/<pid>/stat, in clock ticks of 10 ms), or 0 where it cannot
// be read.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command's name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+st) * 10 * time.Millisecond
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h),`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// ParseWrk reads wrk's report: the answers and the time they took, the
// answers that were not 2xx or 3xx, and the socket errors.
func ParseWrk(out string) (WrkResult, error) {
	res := WrkResult{Output: out}
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("wrk printed no request count: %q", out)
	}
	res.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	v, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return res, fmt.Errorf("wrk's elapsed time %q: %w", m[2]+m[3], err)
	}
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[m[3]]
	res.Elapsed = time.Duration(v * float64(unit))
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		res.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for i, p := range []*int64{&res.Connect, &res.Read, &res.Write, &res.Timeout} {
			*p, _ = strconv.ParseInt(m[i+1], 10, 64)
		}
	}
	return res, nil
}

// Accepts is a listener that counts the connections it accepted: what
// tells RunMetered that wrk has connected.
type Accepts struct {
	net.Listener
	n atomic.Int64
}

// CountAccepts returns ln, counting its connections.
func CountAccepts(ln net.Listener) *Accepts { return &Accepts{Listener: ln} }

// Accept accepts the next connection and counts it.
func (a *Accepts) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err == nil {
		a.n.Add(1)
	}
	return c, err
}

// Since returns a function that reports whether a connection was accepted
// since the call.
func (a *Accepts) Since() func() bool {
	from := a.n.Load()
	return func() bool { return a.n.Load() > from }
}

// LuaString quotes s as a Lua string literal for a wrk script: backslash,
// quote and the control bytes escaped (\\ddd, three digits, so that a
// digit after one is not read as its own), every other byte as is. (A
// long string, [[...]], would turn CRLF into LF.)
func LuaString(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = fmt.Appendf(b, "\\%03d", c)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

// WrkPeak is a closed-loop peak measured with wrk: a warm-up run of
// Warmup with WarmScript (Script when empty), then the measured run of
// Duration with Script, metered from when Started reports wrk's first
// connection (see RunMetered), the servers' CPU profiled into CPUProfile
// and their allocations into MemProfile if set (meter.StartProfile).
type WrkPeak struct {
	Wrk
	Warmup     time.Duration
	WarmScript string
	Started    func() bool
	CPUProfile string
	MemProfile string
}

// WrkPeakResult is what the two runs of a WrkPeak reported, and what the
// measured one used.
type WrkPeakResult struct {
	Warm, Measured WrkResult
	Usage          meter.Usage
}

// Run runs the warm-up, then the measured run.
func (p WrkPeak) Run(ctx context.Context) (WrkPeakResult, error) {
	var r WrkPeakResult
	warm := p.Wrk
	warm.Duration = p.Warmup
	if p.WarmScript != "" {
		warm.Script = p.WarmScript
	}
	var err error
	if r.Warm, err = warm.Run(ctx); err != nil {
		return r, err
	}
	stopProfile, err := meter.StartProfile(p.CPUProfile, p.MemProfile)
	if err != nil {
		return r, err
	}
	r.Measured, r.Usage, err = p.Wrk.RunMetered(ctx, p.Started)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	return r, err
}

// Rate returns the measured run's answers per second.
func (r WrkPeakResult) Rate() float64 { return r.Measured.Rate() }

// Counts formats the answers and errors of both runs, and what wrk's
// process spent on a measured answer.
func (r WrkPeakResult) Counts() string {
	return fmt.Sprintf("answers=%d warmup_answers=%d seconds=%.2f non2xx=%d socket_errors=%d load_generator_cpu_us_per_req=%.1f",
		r.Measured.Requests, r.Warm.Requests, r.Measured.Elapsed.Seconds(), r.Measured.Non2xx+r.Warm.Non2xx,
		r.Measured.Errors()+r.Warm.Errors(), PerRequest(r.Usage.Load, r.Measured.Requests))
}

// Failures returns the failures of both runs (see WrkResult.Failure).
func (r WrkPeakResult) Failures(name string) []error {
	var errs []error
	for _, w := range []WrkResult{r.Warm, r.Measured} {
		if err := w.Failure(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// PerRequest returns d per request in µs (0 for no request).
func PerRequest(d time.Duration, requests int64) float64 {
	if requests <= 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(requests)
}
