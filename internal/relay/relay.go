// Package relay delivers the collector's hits to Kafka without losing any:
// hits go to an async Kafka producer, and whatever Kafka does not take —
// records that failed after every retry, or everything while Kafka is slow
// or down — goes to a local spool on disk, replayed in order when Kafka is
// back. Only a full spool refuses hits (ErrFull).
//
// Order: once the spool holds anything, new hits are appended behind it
// rather than sent, so a key's hits reach Kafka in the order they came,
// except for records already in flight to Kafka when the first failure
// happened: those may land before older ones replayed from the spool.
// Delivery is at least once; consumers de-duplicate by messageId.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/spool"
)

// ErrFull is returned by Publish when Kafka cannot take hits and the spool
// is full: the caller should ask the client to retry later.
var ErrFull = errors.New("relay: kafka unavailable and spool full")

// Options tunes a Relay. The zero value is valid.
type Options struct {
	// MaxInFlight is how many records may wait for Kafka's ack before new
	// ones go to the spool instead (default 100000).
	MaxInFlight int64
	// DrainBatch is how many spooled records are replayed per produce call
	// (default 1000).
	DrainBatch int
}

// Relay is safe for concurrent use.
type Relay struct {
	async    *kafka.Producer
	sync     *kafka.Producer
	sp       *spool.Spool
	log      *slog.Logger
	opts     Options
	inflight atomic.Int64
	diverted atomic.Bool // set at the first failure; cleared once the spool is drained
	closed   atomic.Bool

	sent, spooled, lost, replayed prometheus.Counter
	latency                       prometheus.Histogram
}

// New returns a relay over Kafka (kcfg) and the spool sp, which it owns and
// closes. Run replays the spool.
func New(kcfg kafka.Config, sp *spool.Spool, opts Options, logger *slog.Logger, reg prometheus.Registerer) *Relay {
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = 100_000
	}
	if opts.DrainBatch == 0 {
		opts.DrainBatch = 1000
	}
	r := &Relay{
		sp: sp, log: logger.With("component", "relay"), opts: opts,
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_produced_total", Help: "Hits Kafka acknowledged directly."}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_spooled_total", Help: "Hits written to the local spool because Kafka was down, slow or failing."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_replayed_total", Help: "Spooled hits Kafka acknowledged on replay."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_lost_total", Help: "Accepted hits Kafka refused while the spool was full: lost. Should stay 0."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ecrm_collector_produce_seconds", Help: "Time from a hit's acceptance to Kafka's ack.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	if reg != nil {
		reg.MustRegister(r.sent, r.spooled, r.replayed, r.lost, r.latency,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ecrm_collector_spool_records", Help: "Hits waiting in the spool."},
				func() float64 { return float64(sp.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ecrm_collector_spool_bytes", Help: "Bytes waiting in the spool."},
				func() float64 { return float64(sp.Bytes()) }))
	}
	r.async = kafka.NewProducer(kcfg, true, kafka.ProducerOptions{
		OnSuccess: func(msgs []kafka.Message) {
			r.inflight.Add(-int64(len(msgs)))
			r.sent.Add(float64(len(msgs)))
			now := time.Now()
			for _, m := range msgs {
				r.latency.Observe(now.Sub(m.Time).Seconds())
			}
		},
		OnError: func(msgs []kafka.Message, err error) {
			r.diverted.Store(true)
			r.log.Warn("kafka did not take hits; spooling them", "count", len(msgs), "err", err)
			if serr := r.toSpool(msgs); serr != nil {
				r.lost.Add(float64(len(msgs)))
				r.log.Error("hits lost: kafka failed and the spool refused them", "count", len(msgs), "err", serr)
			}
			r.inflight.Add(-int64(len(msgs)))
		},
	})
	r.sync = kafka.NewProducer(kcfg, false, kafka.ProducerOptions{BatchSize: opts.DrainBatch})
	return r
}

// Publish hands msgs over for delivery. It returns ErrFull when they can be
// neither sent nor spooled; any other error is internal.
func (r *Relay) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if r.closed.Load() {
		return fmt.Errorf("relay closed: %w", ErrFull)
	}
	if r.diverted.Load() || r.inflight.Load() >= r.opts.MaxInFlight {
		r.diverted.Store(true)
		return r.toSpool(msgs)
	}
	r.inflight.Add(int64(len(msgs)))
	if err := r.async.Publish(ctx, msgs...); err != nil {
		r.inflight.Add(-int64(len(msgs)))
		r.diverted.Store(true)
		return r.toSpool(msgs)
	}
	return nil
}

func (r *Relay) toSpool(msgs []kafka.Message) error {
	recs := make([]spool.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = spool.Record{Topic: m.Topic, Key: m.Key, Value: m.Value}
		for _, h := range m.Headers {
			recs[i].Headers = append(recs[i].Headers, spool.Header{Key: h.Key, Value: h.Value})
		}
	}
	if err := r.sp.Append(recs...); err != nil {
		if errors.Is(err, spool.ErrFull) || errors.Is(err, spool.ErrTooLarge) || errors.Is(err, spool.ErrClosed) {
			return fmt.Errorf("%w: %v", ErrFull, err)
		}
		return fmt.Errorf("spool hits: %w", err)
	}
	r.spooled.Add(float64(len(msgs)))
	return nil
}

// Pending returns the number of hits waiting in the spool.
func (r *Relay) Pending() int { return r.sp.Len() }

// Run replays the spool to Kafka until ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		n, err := r.drainOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.log.Warn("spool replay failed; retrying", "err", err, "backoff", backoff)
			backoff = min(backoff*2, 5*time.Second)
			if !sleep(ctx, backoff) {
				return nil
			}
		case n > 0:
			backoff = 100 * time.Millisecond
		default:
			select {
			case <-ctx.Done():
				return nil
			case <-r.sp.Notify():
			case <-time.After(time.Second):
			}
		}
	}
}

// drainOnce replays one batch of the spool and returns how many records it
// delivered. It waits for the records in flight to settle first, so that
// those that fail are spooled behind the older ones before the replay.
func (r *Relay) drainOnce(ctx context.Context) (int, error) {
	if r.sp.Len() == 0 {
		if r.inflight.Load() == 0 {
			r.diverted.Store(false) // nothing waits: send directly again
		}
		return 0, nil
	}
	for r.inflight.Load() > 0 {
		if !sleep(ctx, 10*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
	recs, cur, err := r.sp.Peek(r.opts.DrainBatch)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	msgs := make([]kafka.Message, len(recs))
	for i, rec := range recs {
		msgs[i] = kafka.Message{Topic: rec.Topic, Key: rec.Key, Value: rec.Value}
		for _, h := range rec.Headers {
			msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
	}
	if err := r.sync.Publish(ctx, msgs...); err != nil {
		return 0, err
	}
	if err := r.sp.Ack(cur); err != nil {
		return 0, fmt.Errorf("ack spool: %w", err)
	}
	r.replayed.Add(float64(len(recs)))
	return len(recs), nil
}

// Close flushes the async producer (failures land in the spool), replays
// what it can of the spool before ctx is done, and closes everything. What
// is still spooled stays on disk for the next start.
func (r *Relay) Close(ctx context.Context) error {
	r.closed.Store(true)
	err := r.async.Close()
	for r.sp.Len() > 0 && ctx.Err() == nil {
		if _, derr := r.drainOnce(ctx); derr != nil {
			break
		}
	}
	if n := r.sp.Len(); n > 0 {
		r.log.Warn("hits left in the spool for the next start", "count", n)
	}
	return errors.Join(err, r.sync.Close(), r.sp.Close())
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
