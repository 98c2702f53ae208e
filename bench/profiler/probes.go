package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/internal/view"
)

// probePoll is how often every pending probe is looked up.
const probePoll = 2 * time.Millisecond

// probe is a hit whose visibility in the view is awaited.
type probe struct {
	id     string    // its anonymousId
	due    time.Time // its scheduled send time
	sent   time.Time // when its request was about to be built and sent
	failed atomic.Bool
}

// poller looks every pending probe up in the view every probePoll until it
// is found, its request failed, or timeout has passed since it was due.
type poller struct {
	v       *view.View
	timeout time.Duration

	probes  int             // received
	fresh   []time.Duration // due send time to first found, of the probes found
	path    []time.Duration // actual send time to first found: without the generator's lateness
	lost    int             // not found within timeout
	failed  int             // their request failed: never looked for
	errs    int             // lookups that failed other than with ErrNotFound
	lookups int
	errMsg  string
}

// run polls the probes from in until in is closed and none is pending, or
// ctx is done.
func (pl *poller) run(ctx context.Context, in <-chan *probe) {
	tick := time.NewTicker(probePoll)
	defer tick.Stop()
	var pending []*probe
	open := true
	for open || len(pending) > 0 {
	drain:
		for open {
			select {
			case p, ok := <-in:
				if !ok {
					open = false
					break drain
				}
				pl.probes++
				pending = append(pending, p)
			default:
				break drain
			}
		}
		kept := pending[:0]
		for _, p := range pending {
			if p.failed.Load() {
				pl.failed++
				continue
			}
			pl.lookups++
			_, err := pl.v.Lookup("a:" + p.id)
			now := time.Now()
			switch {
			case err == nil:
				pl.fresh = append(pl.fresh, now.Sub(p.due))
				pl.path = append(pl.path, now.Sub(p.sent))
			case now.Sub(p.due) > pl.timeout:
				pl.lost++
			default:
				kept = append(kept, p)
			}
			if err != nil && !errors.Is(err, view.ErrNotFound) {
				pl.errs++
				if pl.errMsg == "" {
					pl.errMsg = err.Error()
				}
			}
		}
		clear(pending[len(kept):])
		pending = kept
		select {
		case <-ctx.Done():
			pl.lost += len(pending)
			return
		case <-tick.C:
		}
	}
}

// canary sends one probe through the stack and waits until the view shows
// it: the path works end to end before anything is timed.
func canary(ctx context.Context, s *fullStack, g *generator, cfg config, out io.Writer, started time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, readyWithin)
	defer cancel()
	client := loadgen.NewClient(s.addr, 1, cfg.Timeout)
	defer client.CloseIdleConnections()
	sd := newSender(s.addr, client)
	due := time.Now()
	h := g.probe(due)
	if !sd.send(h) {
		return sd.Tally().Failure("canary hit", unaccepted)
	}
	probes := make(chan *probe, 1)
	probes <- &probe{id: h.e.AnonymousID, due: due, sent: due}
	close(probes)
	pl := &poller{v: s.view, timeout: readyWithin}
	pl.run(ctx, probes)
	if len(pl.fresh) == 0 {
		return fmt.Errorf("canary hit not visible in the view within %s (lookup errors: %d %s)", readyWithin, pl.errs, pl.errMsg)
	}
	fmt.Fprintf(out, "freshness: stack ready %s after start (profiler owns %d partitions, view tailing); canary visible after %.1f ms\n",
		due.Sub(started).Round(time.Millisecond), s.kcfg.Partitions, ms(pl.fresh[0]))
	return nil
}
