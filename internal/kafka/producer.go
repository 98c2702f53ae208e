package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
)

// ErrProducerClosed is returned by Publish after Close.
var ErrProducerClosed = errors.New("kafka: producer closed")

// ProducerOptions tunes a Producer. The zero value is valid.
type ProducerOptions struct {
	// BatchTimeout is how long a partial batch waits for more records
	// (default 2ms: freshness matters more than batch size).
	BatchTimeout time.Duration
	// BatchSize is the most records in one produce request (default 1000).
	BatchSize int
	// MaxAttempts is how many times a batch is tried before it fails
	// (default 5).
	MaxAttempts int
	// Fast picks lz4 compression, cheaper on CPU than the default zstd,
	// for hot paths such as the collector's hits.
	Fast bool
	// Direct, for a sync producer whose caller batches records itself,
	// sends what one Publish gets at once: one produce request to each
	// partition leader, with a record batch for each of its partitions.
	// BatchTimeout and BatchSize do not apply; without it, kafka-go's
	// Writer sends one request per partition (per BatchSize records) and
	// holds each partition's last, partial batch back for BatchTimeout.
	Direct bool
	// OnError is called, for an async producer, with the records of a batch
	// that failed after every retry. It must not block for long.
	OnError func(msgs []Message, err error)
	// OnSuccess is called, for an async producer, with the records of a
	// batch once the cluster acknowledged them.
	OnSuccess func(msgs []Message)
}

// Producer writes records to Kafka with acks from all in-sync replicas,
// compressed (zstd, or lz4 when fast), partitioned by the murmur2 hash of the key (the Java
// client's default, so keys land where other Kafka tools put them).
// It is safe for concurrent use.
type Producer struct {
	w      *kafkago.Writer
	direct *direct // instead of w's batching, when set
	async  bool
	mu     sync.RWMutex
	closed bool
}

// NewProducer returns a producer. An async producer's Publish returns once
// the records are queued; failures and successes reach opts.OnError and
// opts.OnSuccess. A sync producer's Publish returns once the cluster acked.
func NewProducer(cfg Config, async bool, opts ProducerOptions) *Producer {
	if opts.BatchTimeout == 0 {
		opts.BatchTimeout = 2 * time.Millisecond
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 1000
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 5
	}
	codec := kafkago.Compression(compress.Zstd)
	if opts.Fast {
		codec = kafkago.Compression(compress.Lz4)
	}
	w := &kafkago.Writer{
		Addr:                   kafkago.TCP(cfg.Brokers...),
		Balancer:               kafkago.Murmur2Balancer{},
		RequiredAcks:           kafkago.RequireAll,
		Compression:            codec,
		BatchTimeout:           opts.BatchTimeout,
		BatchSize:              opts.BatchSize,
		BatchBytes:             8 << 20,
		MaxAttempts:            opts.MaxAttempts,
		WriteBackoffMin:        20 * time.Millisecond,
		WriteBackoffMax:        500 * time.Millisecond,
		Async:                  async,
		AllowAutoTopicCreation: false,
		// A transport of our own: its metadata cache is not shared with
		// anything that ran before the topics existed.
		Transport: &kafkago.Transport{MetadataTTL: 5 * time.Second, DialTimeout: 3 * time.Second},
	}
	if async {
		w.Completion = func(kms []kafkago.Message, err error) {
			if err != nil && opts.OnError == nil && opts.OnSuccess == nil {
				return
			}
			msgs := make([]Message, len(kms))
			for i, km := range kms {
				msgs[i] = fromKafka(km)
			}
			if err != nil {
				if opts.OnError != nil {
					opts.OnError(msgs, err)
				}
				return
			}
			if opts.OnSuccess != nil {
				opts.OnSuccess(msgs)
			}
		}
	}
	p := &Producer{w: w, async: async}
	if opts.Direct && !async {
		p.direct = &direct{
			tr: w.Transport.(*kafkago.Transport), addr: w.Addr,
			acks: int16(w.RequiredAcks), attrs: protocol.Attributes(codec) & 7,
			maxAttempts: w.MaxAttempts, backoffMin: w.WriteBackoffMin, backoffMax: w.WriteBackoffMax,
		}
	}
	return p
}

// Publish writes msgs. See NewProducer for when it returns.
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrProducerClosed
	}
	if p.direct != nil {
		return p.direct.publish(ctx, msgs)
	}
	kp := kafkaMsgs.Get().(*[]kafkago.Message)
	kms := slices.Grow((*kp)[:0], len(msgs))[:len(msgs)]
	for i, m := range msgs {
		kms[i] = toKafka(m)
	}
	if err := p.w.WriteMessages(ctx, kms...); err != nil {
		// Not reused: the error may hold some of kms.
		return fmt.Errorf("produce %d records: %w", len(msgs), err)
	}
	// The writer copied what it keeps; an async one keeps nothing of kms
	// once WriteMessages returns either.
	clear(kms)
	if *kp = kms[:0]; cap(kms) <= 1<<16 {
		kafkaMsgs.Put(kp)
	}
	return nil
}

// kafkaMsgs holds slices Publish converts records in.
var kafkaMsgs = sync.Pool{New: func() any { return new([]kafkago.Message) }}

// Close flushes queued records, waits for their acks and closes the
// connections. Publish fails with ErrProducerClosed afterwards.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.w.Close()
	if p.direct != nil {
		p.direct.tr.CloseIdleConnections()
	}
	return err
}
