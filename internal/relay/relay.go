// Package relay delivers the collector's hits to Kafka without losing any
// and in order per key: hits queue in memory and one loop sends them in
// batches, each acknowledged by Kafka before the next is sent; when a batch
// fails (Kafka down, or slower than Options.Timeout) it goes to a local spool
// on disk, and so does every hit after it until the spool has been replayed
// to Kafka. Only a full spool refuses hits (ErrFull): the hits it had no
// room for wait in memory, behind it, and new ones are refused until it
// has been replayed.
//
// Why not kafka-go's async writer: it would keep sending newer hits while
// older ones wait for their retries to fail, so diverting to the spool
// could overtake them. One batch in flight at a time keeps order, and
// batching what queued during the previous round trip keeps throughput.
//
// Delivery is at least once (a crash between Kafka's ack and the spool's
// ack replays); consumers de-duplicate by messageId.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	// MaxQueued bounds the hits waiting in memory for the batch in flight
	// (default 200000); past it Publish returns ErrFull until the batch in
	// flight succeeds or fails over to the spool.
	MaxQueued int
	// MaxBatch is the most hits sent to Kafka in one round trip (default
	// 5000).
	MaxBatch int
	// MaxBatchBytes bounds the keys and values of one round trip's hits
	// (default 4 MiB), so that a batch of large hits, or a spool's replay
	// of them, is sent well within Timeout; a batch has one hit however
	// large.
	MaxBatchBytes int
	// Timeout is how long a batch may take before Kafka counts as slow and
	// the batch goes to the spool (default 5s).
	Timeout time.Duration
	// MaxAttempts is how many times Kafka is tried with a batch before it
	// goes to the spool (default 3).
	MaxAttempts int
	// Linger is the least time between the starts of two batches (default
	// 5ms, as Kafka's own producers default linger.ms since 4.0): hits
	// queued meanwhile go together, in fewer and larger record batches,
	// which costs Kafka and the relay less CPU per hit. Publish does not
	// wait for it. Negative: no wait.
	Linger time.Duration
}

// Relay is safe for concurrent use.
type Relay struct {
	out  *kafka.Producer
	sp   *spool.Spool
	log  *slog.Logger
	opts Options

	mu       sync.Mutex
	queue    []kafka.Message
	spare    []kafka.Message // a sent batch's array, empty, for the next queue
	diverted bool            // the spool holds hits: new ones go behind them, in the spool or, when it refused some, in the queue
	closed   bool
	abandon  bool // Close's deadline passed: spool the queue and stop
	inflight bool // a batch from the queue is being sent
	wake     chan struct{}
	quit     chan struct{} // closed by Close: no more lingering
	stopped  chan struct{}

	sent, spooled, replayed prometheus.Counter
	latency                 prometheus.Histogram
}

// New returns a relay over Kafka (kcfg) and the spool sp, which it owns and
// closes. Run does the sending; Close stops it.
func New(kcfg kafka.Config, sp *spool.Spool, opts Options, logger *slog.Logger, reg prometheus.Registerer) *Relay {
	if opts.MaxQueued == 0 {
		opts.MaxQueued = 200_000
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = 5000
	}
	if opts.MaxBatchBytes == 0 {
		opts.MaxBatchBytes = 4 << 20
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	if opts.Linger == 0 {
		opts.Linger = 5 * time.Millisecond
	}
	r := &Relay{
		sp: sp, log: logger.With("component", "relay"), opts: opts,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{}),
		diverted: sp.Len() > 0,
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_produced_total", Help: "Hits Kafka acknowledged directly."}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_spooled_total", Help: "Hits written to the local spool because Kafka was down, slow or failing."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ecrm_collector_replayed_total", Help: "Spooled hits Kafka acknowledged on replay."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ecrm_collector_produce_seconds", Help: "Time from a hit's acceptance to Kafka's ack.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	if reg != nil {
		reg.MustRegister(r.sent, r.spooled, r.replayed, r.latency,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ecrm_collector_spool_records", Help: "Hits waiting in the spool."},
				func() float64 { return float64(sp.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "ecrm_collector_spool_bytes", Help: "Bytes waiting in the spool."},
				func() float64 { return float64(sp.Bytes()) }))
	}
	// The relay batches itself: a batch goes at once, in one request to
	// each partition leader (Direct), not held back per partition.
	r.out = kafka.NewProducer(kcfg, false, kafka.ProducerOptions{MaxAttempts: opts.MaxAttempts, Fast: true, Direct: true})
	return r
}

// Publish hands msgs over for delivery: queued for Kafka, or appended to
// the spool while it holds older hits. It returns an error wrapping
// ErrFull when they can be neither queued nor spooled. Unless it fails,
// the relay owns msgs' records from then on: it releases their pooled
// buffers (kafka.NewPooled) once Kafka acknowledged them or the spool
// copied them, so the caller must not read them again.
func (r *Relay) Publish(_ context.Context, msgs ...kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return fmt.Errorf("%w: relay closed", ErrFull)
	case r.diverted && len(r.queue) > 0:
		// The spool is full, and hits it could not take wait for its
		// replay: new ones would have to go behind them.
		return fmt.Errorf("%w: the spool is full; %d hits wait in memory for its replay", ErrFull, len(r.queue))
	case r.diverted:
		n, err := r.spoolReleaseLocked(msgs)
		if n == 0 {
			return err
		}
		// What the spool had no room for waits behind what it took:
		// accepted, as a hit queued for Kafka is.
		r.queue = append(r.queue, msgs[n:]...)
		return nil
	case len(r.queue)+len(msgs) > r.opts.MaxQueued:
		return fmt.Errorf("%w: %d hits wait for kafka", ErrFull, len(r.queue))
	}
	r.queue = append(r.queue, msgs...)
	r.poke()
	return nil
}

// spoolReleaseLocked spools what it can of msgs, as spoolLocked, and
// releases the pooled buffers of those the spool copied.
func (r *Relay) spoolReleaseLocked(msgs []kafka.Message) (int, error) {
	n, err := r.spoolLocked(msgs)
	kafka.Release(msgs[:n])
	return n, err
}

// spoolChunk is how many hits spoolLocked appends at a time.
const spoolChunk = 1024

// spoolLocked appends msgs to the spool, in order, as far as it has room:
// in chunks, and once one does not fit, in halves of it down to one hit.
// It returns how many it appended, and why not all.
func (r *Relay) spoolLocked(msgs []kafka.Message) (int, error) {
	done, chunk := 0, spoolChunk
	for done < len(msgs) {
		k := min(chunk, len(msgs)-done)
		err := r.appendLocked(msgs[done : done+k])
		switch {
		case err == nil:
			done += k
		case k > 1 && errors.Is(err, ErrFull):
			chunk = k / 2
		default:
			return done, err
		}
	}
	return done, nil
}

// appendLocked appends msgs to the spool, all or none.
func (r *Relay) appendLocked(msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
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

// Flush waits until every hit published before it was sent to Kafka or
// spooled, or until ctx is done.
func (r *Relay) Flush(ctx context.Context) error {
	for {
		r.mu.Lock()
		idle := len(r.queue) == 0 && !r.inflight
		r.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Pending returns the number of hits waiting in the spool.
func (r *Relay) Pending() int { return r.sp.Len() }

// Run sends queued hits and replays the spool until Close; it must run
// exactly once, in its own goroutine. After Close it goes on until the
// queue is sent or spooled and the spool replayed as far as Kafka allows,
// or until Close's deadline.
func (r *Relay) Run() {
	defer close(r.stopped)
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		progressed, err := r.step()
		r.mu.Lock()
		closed, abandon, queued := r.closed, r.abandon, len(r.queue)
		if abandon {
			if n, serr := r.spoolReleaseLocked(r.queue); serr != nil {
				r.log.Error("hits lost at shutdown: kafka and the spool refused them", "count", len(r.queue)-n, "err", serr)
			}
			r.queue = nil
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		if closed && queued == 0 && (err != nil || !progressed) {
			return
		}
		wait := time.Second
		switch {
		case err != nil:
			r.log.Warn("kafka unavailable; hits are spooled", "err", err, "pending", r.sp.Len(), "backoff", backoff)
			wait = backoff
			backoff = min(backoff*2, 5*time.Second)
		case progressed:
			backoff = 100 * time.Millisecond
			if d := r.opts.Linger - time.Since(start); d > 0 && !closed && queued < r.opts.MaxBatch {
				r.linger(d)
			}
			continue
		}
		select {
		case <-r.wake:
		case <-time.After(wait):
		}
	}
}

// step sends one batch: from the queue normally, from the spool while it
// holds hits. It reports whether it delivered anything.
func (r *Relay) step() (bool, error) {
	r.mu.Lock()
	if r.diverted && r.sp.Len() == 0 {
		r.diverted = false // replayed: send what is queued behind it, if anything, directly again
	}
	diverted := r.diverted
	var batch []kafka.Message
	whole := false // batch holds the queue's whole array, reusable once sent
	if !diverted {
		n := r.batchLen()
		batch = r.queue[:n:n]
		r.queue = r.queue[n:]
		r.inflight = n > 0
		if len(r.queue) == 0 {
			// Publish fills the array of the batch sent before this one
			// meanwhile, rather than growing a new one from nothing.
			whole = true
			r.queue, r.spare = r.spare, nil
		}
	}
	r.mu.Unlock()
	if diverted {
		return r.replay()
	}
	if len(batch) == 0 {
		return false, nil
	}
	pctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	err := r.out.Publish(pctx, batch...)
	cancel()
	defer func() {
		r.mu.Lock()
		r.inflight = false
		r.mu.Unlock()
	}()
	if err == nil {
		r.sent.Add(float64(len(batch)))
		now := time.Now()
		for _, m := range batch {
			r.latency.Observe(now.Sub(m.Time).Seconds())
		}
		// Publish returned once every request was answered: nothing
		// reads the records any more.
		kafka.Release(batch)
		if whole && cap(batch) <= 4*r.opts.MaxBatch { // not the array of a backlog
			clear(batch) // let the records go
			r.mu.Lock()
			r.spare = batch[:0]
			r.mu.Unlock()
		}
		return true, nil
	}
	// Divert: this batch, then everything queued behind it, to the spool,
	// as far as it has room.
	r.mu.Lock()
	defer r.mu.Unlock()
	// The failed batch's buffers never go back to the pool: a request
	// abandoned at the timeout may still be read by kafka-go's connection.
	kafka.Forget(batch)
	n, serr := r.spoolLocked(batch)
	if n < len(batch) {
		// The rest waits in memory, with the queue behind it: for Kafka
		// again if the spool took none (it was empty: the batch came from
		// the queue), else until the spool is replayed.
		r.queue = append(batch[n:len(batch):len(batch)], r.queue...)
		r.diverted = r.sp.Len() > 0
		r.log.Error("kafka failed and the spool refused hits; holding them in memory", "err", serr, "held", len(r.queue))
		return false, err
	}
	r.diverted = true
	n, serr = r.spoolReleaseLocked(r.queue)
	r.queue = r.queue[n:]
	if serr != nil {
		// The batch is spooled, some hits queued behind it are not: they
		// stay queued until the spool has been replayed, then go to Kafka
		// after it; Publish refuses new ones meanwhile.
		r.log.Error("kafka failed and the spool is full; holding hits in memory until it is replayed", "err", serr, "held", len(r.queue))
	}
	return false, err
}

// batchLen returns how many of the queue's first hits the next batch
// takes: MaxBatch, or fewer for MaxBatchBytes, or the whole queue. r.mu is
// held.
func (r *Relay) batchLen() int {
	n, size := 0, 0
	for n < min(len(r.queue), r.opts.MaxBatch) {
		m := &r.queue[n]
		if size += len(m.Key) + len(m.Value); size > r.opts.MaxBatchBytes && n > 0 {
			break
		}
		n++
	}
	return n
}

// replay sends one batch of the spool to Kafka.
func (r *Relay) replay() (bool, error) {
	recs, cur, err := r.sp.PeekBytes(r.opts.MaxBatch, int64(r.opts.MaxBatchBytes))
	if err != nil || len(recs) == 0 {
		return false, err
	}
	msgs := make([]kafka.Message, len(recs))
	for i, rec := range recs {
		msgs[i] = kafka.Message{Topic: rec.Topic, Key: rec.Key, Value: rec.Value}
		for _, h := range rec.Headers {
			msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
	}
	pctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	err = r.out.Publish(pctx, msgs...)
	cancel()
	if err != nil {
		return false, err
	}
	if err := r.sp.Ack(cur); err != nil {
		return false, fmt.Errorf("ack spool: %w", err)
	}
	r.replayed.Add(float64(len(recs)))
	return true, nil
}

// Close stops taking hits and waits for Run to send or spool what is
// queued and to replay what it can of the spool; at ctx's deadline Run
// spools the rest after the batch in flight. Then it closes the producer
// and the spool. What is still spooled stays on disk for the next start.
func (r *Relay) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		close(r.quit)
	}
	r.closed = true
	r.mu.Unlock()
	r.poke()
	select {
	case <-r.stopped:
	case <-ctx.Done():
		r.mu.Lock()
		r.abandon = true
		r.mu.Unlock()
		r.poke()
		<-r.stopped // bounded by one batch's Timeout
	}
	if n := r.sp.Len(); n > 0 {
		r.log.Warn("hits left in the spool for the next start", "count", n)
	}
	return errors.Join(r.out.Close(), r.sp.Close())
}

// linger waits d, or less if Close is called meanwhile.
func (r *Relay) linger(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.quit:
	}
}

func (r *Relay) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
