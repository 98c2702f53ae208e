package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// MaxAppendBytes bounds the records of one Append (before compression):
// the changelog topic is created with this max.message.bytes.
const MaxAppendBytes = 16 << 20

// ErrAppendTooLarge is returned by Append when the records exceed
// MaxAppendBytes.
var ErrAppendTooLarge = errors.New("kafka: records too large for one append")

// Appender writes a set of records to one chosen partition in one produce
// request, so that they are stored together or not at all, and returns the
// offset of the first. It is safe for concurrent use.
type Appender struct {
	c *kafkago.Client
}

// NewAppender returns an appender to the cluster of cfg.
func NewAppender(cfg Config) *Appender {
	return &Appender{c: &kafkago.Client{
		Addr:      kafkago.TCP(cfg.Brokers...),
		Timeout:   10 * time.Second,
		Transport: &kafkago.Transport{MetadataTTL: 5 * time.Second, DialTimeout: 3 * time.Second},
	}}
}

// Append writes msgs (their Topic and Partition fields are ignored) to
// topic's partition and returns the offset of the first.
func (a *Appender) Append(ctx context.Context, topic string, partition int, msgs []Message) (int64, error) {
	size := 0
	recs := make([]kafkago.Record, len(msgs))
	for i, m := range msgs {
		size += len(m.Key) + len(m.Value)
		recs[i] = kafkago.Record{Key: kafkago.NewBytes(m.Key), Time: m.Time}
		for _, h := range m.Headers {
			recs[i].Headers = append(recs[i].Headers, kafkago.Header{Key: h.Key, Value: h.Value})
		}
		if m.Value != nil {
			recs[i].Value = kafkago.NewBytes(m.Value)
		}
	}
	if size > MaxAppendBytes {
		return 0, fmt.Errorf("%w: %d bytes", ErrAppendTooLarge, size)
	}
	res, err := a.c.Produce(ctx, &kafkago.ProduceRequest{
		Topic:        topic,
		Partition:    partition,
		RequiredAcks: kafkago.RequireAll,
		Records:      kafkago.NewRecordReader(recs...),
		// Uncompressed, as Kafka Streams leaves its changelogs by default:
		// the profiler appends every changed profile here on the hot path
		// (it already compresses the same snapshot once for the profiles
		// topic), and the records are read back only to restore a
		// partition. Compaction keeps one record per key.
	})
	if err != nil {
		return 0, fmt.Errorf("append to %s/%d: %w", topic, partition, err)
	}
	if res.Error != nil {
		return 0, fmt.Errorf("append to %s/%d: %w", topic, partition, res.Error)
	}
	return res.BaseOffset, nil
}

// ErrReadStalled is returned by ReadRange when no record came for its idle
// time before the end of the range.
var ErrReadStalled = errors.New("kafka: read stalled before the end of the range")

// ReadRange calls fn with the records of topic's partition whose offsets
// are in [from, to), in order and in batches, and returns once it has seen
// the record at to-1 (the last record of a partition is never compacted
// away: it sits in the active segment). When no record comes for idle, it
// fails with ErrReadStalled rather than return a partial range.
func ReadRange(ctx context.Context, cfg Config, topic string, partition int, from, to int64, idle time.Duration, fn func([]Message) error) error {
	if from >= to {
		return nil
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: cfg.Brokers, Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: 32 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		return fmt.Errorf("seek %s/%d to %d: %w", topic, partition, from, err)
	}
	batch := make([]Message, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := fn(batch)
		batch = batch[:0]
		return err
	}
	for {
		fctx, cancel := context.WithTimeout(ctx, idle)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return fmt.Errorf("%w: %s/%d at %d of [%d, %d)", ErrReadStalled, topic, partition, r.Offset(), from, to)
			}
			return fmt.Errorf("read %s/%d: %w", topic, partition, err)
		}
		if m.Offset >= to {
			return flush()
		}
		batch = append(batch, fromKafka(m))
		if m.Offset >= to-1 {
			return flush()
		}
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
