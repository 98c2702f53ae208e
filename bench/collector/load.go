package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
)

// target is a server under load.
type target struct {
	name string
	addr string // host:port
	// collector marks the collector, whose 2xx answers must also say
	// that the event was accepted.
	collector bool
}

// acceptedOne is in the collector's answer when it stored the event.
var acceptedOne = []byte(`"accepted":1`)

// unaccepted is what failures call the collector's 2xx answers without
// "accepted":1, counted in a tally's Refused.
const unaccepted = `2xx answers without "accepted":1`

// check returns how t's 2xx answers are judged: the collector's must say
// "accepted":1.
func (t target) check() loadgen.Check {
	if !t.collector {
		return nil
	}
	return func(body []byte) (ok, marked bool) { return bytes.Contains(body, acceptedOne), false }
}

// counts formats a tally as the collector's lines show it.
func counts(t *loadgen.Tally) string {
	return fmt.Sprintf("ok=%d in_window=%d non2xx=%d unaccepted=%d errors=%d", t.OK, t.Window, t.Non2xx, t.Refused, t.Errs) + t.StatusList()
}

// sender posts page hits to a target one at a time, over its client (Send)
// or as bytes for an event loop's socket (AppendRequest).
type sender struct {
	*loadgen.Conn
	g   *generator
	buf []byte
	raw *fasthttp.Request // AppendRequest's: its URI is the path, Host its header
}

func newSender(t target, g *generator, client *fasthttp.HostClient) *sender {
	raw := newRequest(t)
	raw.Header.SetRequestURI(pathBatch)
	raw.Header.SetHost(t.addr)
	return &sender{Conn: loadgen.NewConn(client, newRequest(t), t.check()), g: g, buf: make([]byte, 0, 1024), raw: raw}
}

// AppendRequest appends the next page hit to dst as it goes on the wire.
func (s *sender) AppendRequest(dst []byte) []byte {
	s.buf = s.g.fill(s.raw, s.buf)
	s.raw.Header.SetContentLength(len(s.buf))
	return append(s.raw.Header.AppendBytes(dst), s.buf...)
}

// Send sends the next page hit and reports whether it succeeded.
func (s *sender) Send() bool {
	s.buf = s.g.fill(s.Req, s.buf)
	return s.Do()
}

// runLoad is the load generator's process: it sends one phase's page
// hits to cfg.Target and prints its report on stdout (see loadgen.Serve).
// The collector's answers count only with "accepted":1, and all of them in
// ok, warm-up included, for the delivery check.
func runLoad(ctx context.Context, cfg config, stdout io.Writer) error {
	addr, err := cfg.TargetAddr()
	if err != nil {
		return err
	}
	t := target{name: cfg.Name, addr: addr, collector: cfg.Collector}
	g := newGenerator()
	return loadgen.Serve(ctx, cfg.Phase, addr, func(client *fasthttp.HostClient) loadgen.Sender { return newSender(t, g, client) }, stdout)
}

// spawnLoad runs a load generator of mode against t in a process of its
// own, this program started again with -role=load, profiling the servers'
// CPU into cpuProfile and their allocations into memProfile if set (see
// loadgen.Spawn). It returns the generator's report and what the servers'
// process used meanwhile.
func (b *bench) spawnLoad(ctx context.Context, t target, mode string, rate float64, workers int, cpuProfile, memProfile string) (*loadgen.Report, meter.Usage, error) {
	ph := b.cfg.Phase
	ph.Mode, ph.Rate, ph.Workers = mode, rate, workers
	if mode == loadgen.Open {
		ph.Duration = b.cfg.OpenFor
	}
	return loadgen.Spawn(ctx, loadgen.Run{
		Name: t.name, Phase: ph,
		Args:       []string{"-target=http://" + t.addr + pathBatch, fmt.Sprintf("-collector=%t", t.collector)},
		CPUProfile: cpuProfile, MemProfile: memProfile, Stderr: b.stderr,
	})
}
