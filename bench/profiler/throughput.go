package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"time"

	"github.com/ecrm/ecrm/bench/internal/meter"
	"github.com/ecrm/ecrm/internal/kafka"
)

// Throughput phase settings.
const (
	produceChunk  = 10_000                 // hits generated and published at a time
	pollInterval  = 2 * time.Millisecond   // how often the member's progress is read
	settleCheck   = 200 * time.Millisecond // how often the hits topic's end is asked for
	hitsTimeSpan  = 2 * time.Hour          // the pre-produced hits' timestamps span this, ending now
	receivedDelay = 100 * time.Millisecond // from a hit's timestamp to the collector's receipt
)

// progress is when a member reached each point of the throughput phase.
type progress struct {
	start, joined, first, counted, committed, settled time.Time
}

// throughput pre-produces cfg.Events hits, starts one profiler member and
// times it until it has committed them all. It returns the hits per
// second from its first processed record; outcomes that are wrong go to
// fail.
func throughput(ctx context.Context, cfg config, logger *slog.Logger, out io.Writer, fail func(error)) (eps float64, err error) {
	e, err := newEnv(ctx, "throughput", logger)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, e.Close()) }()
	g, err := newGenerator(cfg.Visitors)
	if err != nil {
		return 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Wait)
	ends, err := produceHits(pctx, e, g, cfg.Events, out)
	cancel()
	if err != nil {
		return 0, err
	}

	stopProfile, err := meter.StartProfile(cfg.CPUProfile, "")
	if err != nil {
		return 0, err
	}
	defer func() { _ = stopProfile() }() // on early returns; checked below
	m := meter.Start()
	var pr progress
	pr.start = time.Now()
	mem, err := e.startProfiler()
	if err != nil {
		return 0, err
	}
	c, err := follow(ctx, e, mem, ends, float64(cfg.Events), cfg.Wait, &pr)
	usage := m.Stop(0)
	if perr := stopProfile(); perr != nil {
		return 0, perr
	}
	if err != nil {
		return 0, err
	}

	n := float64(cfg.Events)
	fmt.Fprintf(out, "throughput: member joined its group %s after start; first record processed %s after start (both left out of the rate)\n",
		pr.joined.Sub(pr.start).Round(time.Millisecond), pr.first.Sub(pr.start).Round(time.Millisecond))
	batches := c["ecrm_profiler_batch_seconds_count"]
	meanRecords, meanBatch := 0.0, 0.0
	if batches > 0 {
		meanRecords = c.recordsTotal() / batches
		meanBatch = c["ecrm_profiler_batch_seconds_sum"] / batches * 1000
	}
	fmt.Fprintf(out, "throughput: records %s duplicates=%.0f batches=%.0f mean_batch_records=%.0f mean_batch_ms=%.2f\n",
		c.recordKinds(), c["ecrm_profiler_duplicates_total"], batches, meanRecords, meanBatch)
	since := func(t time.Time) float64 { return t.Sub(pr.first).Seconds() }
	fmt.Fprintf(out, "throughput: hits_counted_s=%.3f hits_committed_s=%.3f settled_s=%.3f (from the first processed record) %s\n",
		since(pr.counted), since(pr.committed), since(pr.settled), cost(usage))
	fmt.Fprintf(out, "throughput: hits_counted_per_s=%.0f settled_records_per_s=%.0f\n",
		n/since(pr.counted), c.recordsTotal()/since(pr.settled))
	// Less noisy than the rate on a shared machine: what a hit costs this
	// process (the member and the embedded broker serving it), start to
	// settled.
	perHit := float64(usage.Own) / float64(time.Microsecond) / n
	fmt.Fprintf(out, "throughput: cpu_us_per_hit=%.1f hits_per_cpu_s=%.0f (this process's CPU time from the member's start until settled, the broker's included)\n",
		perHit, 1e6/perHit)

	if hits := c.records("hit"); hits != n {
		fail(fmt.Errorf("the profiler counted %.0f hits, want %.0f", hits, n))
	}
	for _, kind := range []string{"bot", "invalid", "panic"} {
		if v := c.records(kind); v != 0 {
			fail(fmt.Errorf("the profiler counted %.0f %s records, want none", v, kind))
		}
	}
	if d := c["ecrm_profiler_duplicates_total"]; d != 0 {
		fail(fmt.Errorf("the profiler skipped %.0f hits as duplicates, want none (messageIds are unique)", d))
	}
	return n / since(pr.committed), nil
}

// produceHits writes n hits to the hits topic as the collector writes them,
// in big synchronous batches, and returns the topic's end offsets after.
func produceHits(ctx context.Context, e *env, g *generator, n int, out io.Writer) (map[int]int64, error) {
	p := kafka.NewProducer(e.kcfg, false, kafka.ProducerOptions{BatchSize: 2500, BatchTimeout: 10 * time.Millisecond, Fast: true})
	start := time.Now()
	first := start.Add(-hitsTimeSpan)
	step := hitsTimeSpan / time.Duration(n)
	msgs := make([]kafka.Message, 0, produceChunk)
	var bytes int64
	for i := 0; i < n; {
		msgs = msgs[:0]
		for ; i < n && len(msgs) < produceChunk; i++ {
			ts := first.Add(time.Duration(i) * step)
			h := g.next(ts)
			received := ts.Add(receivedDelay)
			collected(h, received)
			value, err := h.e.AppendJSON(nil)
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("encode hit: %w", err)
			}
			bytes += int64(len(value))
			msgs = append(msgs, kafka.Message{Topic: e.topics.Hits, Key: []byte(h.e.Key()), Value: value, Time: received})
		}
		if err := p.Publish(ctx, msgs...); err != nil {
			p.Close()
			return nil, fmt.Errorf("pre-produce hits: %w", err)
		}
	}
	if err := p.Close(); err != nil {
		return nil, fmt.Errorf("pre-produce hits: %w", err)
	}
	took := time.Since(start)
	ends, err := kafka.EndOffsets(ctx, e.kcfg, e.topics.Hits)
	if err != nil {
		return nil, err
	}
	var total, lo, hi int64 = 0, -1, 0
	for _, end := range ends {
		total += end
		if lo < 0 || end < lo {
			lo = end
		}
		hi = max(hi, end)
	}
	fmt.Fprintf(out, "throughput: pre-produced %d hits (%.1f MB, mean %d bytes) in %s (%.0f/s, generation included); partitions %d, %d..%d hits each; mix:%s\n",
		n, float64(bytes)/1e6, bytes/int64(n), took.Round(time.Millisecond), float64(n)/took.Seconds(), len(ends), lo, hi, g.mix())
	if total != int64(n) {
		return nil, fmt.Errorf("the hits topic holds %d records after producing %d", total, n)
	}
	return ends, nil
}

// follow polls the member until it has committed every partition up to
// ends (the pre-produced hits) and then up to the hits topic's end (the
// merge, absorb and forward records they caused), recording when into pr,
// for at most wait. It returns the member's last counters.
func follow(ctx context.Context, e *env, mem *member, ends map[int]int64, hits float64, wait time.Duration, pr *progress) (counters, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	// cur is the hits topic's end as last asked, at curAt: the member has
	// settled when it is caught up with cur and the end is still cur.
	cur, curAt := ends, time.Now()
	for {
		now := time.Now()
		if pr.joined.IsZero() && mem.p.Ready() {
			pr.joined = now
		}
		c, err := gather(mem.reg)
		if err != nil {
			return nil, err
		}
		if pr.first.IsZero() && c.recordsTotal() > 0 {
			pr.first = now
			if pr.joined.IsZero() {
				pr.joined = now
			}
		}
		if pr.counted.IsZero() && c.records("hit") >= hits {
			pr.counted = now
		}
		if !pr.first.IsZero() {
			if pr.committed.IsZero() {
				done, err := mem.caughtUp(ends)
				if err != nil {
					return nil, err
				}
				if done {
					pr.committed = now
					if pr.counted.IsZero() {
						pr.counted = now
					}
				}
			}
			ok, err := mem.caughtUp(cur)
			if err != nil {
				return nil, err
			}
			if ok || now.Sub(curAt) >= settleCheck {
				fresh, err := kafka.EndOffsets(ctx, e.kcfg, e.topics.Hits)
				if err != nil {
					return nil, err
				}
				if ok && maps.Equal(fresh, cur) {
					// The end has not moved since the member was seen
					// caught up with it: it was settled then.
					pr.settled = now
					return gather(mem.reg)
				}
				cur, curAt = fresh, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("the profiler had not processed every hit after %s (%s): %w", wait, c.recordKinds(), ctx.Err())
			}
			return nil, fmt.Errorf("interrupted before the profiler processed every hit (%s): %w", c.recordKinds(), ctx.Err())
		case <-tick.C:
		}
	}
}
