package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

// direct sends a whole batch of records at once: one produce request to
// each partition leader holding a record batch for each of its partitions,
// records in the order given. kafka-go's Writer, given the same batch, sends
// one request per partition and holds each partition's last, partial batch
// back for BatchTimeout in case more records come; a caller that batches
// itself (the relay) gains nothing from either.
//
// A partition's share larger than maxRecordBatchBytes goes in several
// record batches, one per request, in order: Kafka refuses a record batch
// larger than the topic's max.message.bytes (1 MiB by default) as too
// large, and a produce request holds one record batch a partition.
//
// A partition whose write fails with a retriable error is tried again, on
// its own, up to maxAttempts in all; Publish fails when any partition still
// fails, though others may have been written (at least once, as with the
// Writer).
type direct struct {
	tr          *kafkago.Transport
	addr        net.Addr
	acks        int16
	attrs       protocol.Attributes // the compression codec
	maxAttempts int
	backoffMin  time.Duration
	backoffMax  time.Duration
	balancer    kafkago.Murmur2Balancer
}

// partBatch is the records of a batch bound to one topic partition.
type partBatch struct {
	topic     string
	partition int32
	idx       []int32 // into the batch, in order
	bytes     int     // the records' recordSize
	err       error   // of the last attempt
}

// maxRecordBatchBytes bounds the records' bytes (keys, values, headers
// and a record's overhead, before compression) in one record batch: below
// Kafka's default max.message.bytes, 1 MiB, even for records lz4 cannot
// shrink.
const maxRecordBatchBytes = 960 << 10

// recordOverhead is about what a record adds to its key, value and
// headers in a record batch: length, attributes, timestamp and offset
// deltas, and the lengths of its key, value and headers (varints).
const recordOverhead = 24

func (d *direct) publish(ctx context.Context, msgs []Message) error {
	rounds, err := d.assign(ctx, msgs)
	if err != nil {
		return err
	}
	// A partition's record batches go in order: round k+1 only once
	// round k is written.
	for _, parts := range rounds {
		if err := d.publishRound(ctx, msgs, parts); err != nil {
			return err
		}
	}
	return nil
}

// publishRound writes parts, at most one record batch a partition.
func (d *direct) publishRound(ctx context.Context, msgs []Message, parts []*partBatch) error {
	pending := parts
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			delay := min(time.Duration(attempt*attempt)*d.backoffMin, d.backoffMax)
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("produce %d records: %w (%w)", len(msgs), ctx.Err(), pending[0].err)
			case <-t.C:
			}
		}
		d.send(ctx, msgs, pending)
		failed := pending[:0:0]
		var fatal error
		for _, p := range pending {
			switch {
			case p.err == nil:
			case retriable(p.err):
				failed = append(failed, p)
			default:
				fatal = p.err
			}
		}
		switch {
		case fatal != nil:
			return fmt.Errorf("produce %d records: %w", len(msgs), fatal)
		case len(failed) == 0:
			return nil
		case attempt+1 >= d.maxAttempts:
			return fmt.Errorf("produce %d records after %d attempts: %w", len(msgs), d.maxAttempts, failed[0].err)
		}
		pending = failed
	}
}

// assign binds each record to its partition as the Writer's balancer
// would, grouping them by partition in their order, in record batches of
// at most maxRecordBatchBytes (unless one record is larger): rounds[k]
// holds the k-th record batch of each partition that has one.
func (d *direct) assign(ctx context.Context, msgs []Message) (rounds [][]*partBatch, _ error) {
	byPart := map[topicPart]*partBatch{} // the last record batch of each
	round := map[topicPart]int{}
	counts := map[string]int{}
	var pids []int
	for i := range msgs {
		m := &msgs[i]
		n, ok := counts[m.Topic]
		if !ok {
			var err error
			if n, err = d.partitions(ctx, m.Topic); err != nil {
				return nil, err
			}
			counts[m.Topic] = n
		}
		for len(pids) < n {
			pids = append(pids, len(pids))
		}
		p := int32(d.balancer.Balance(kafkago.Message{Key: m.Key}, pids[:n]...))
		tp := topicPart{m.Topic, p}
		size := recordSize(m)
		b := byPart[tp]
		if b != nil && b.bytes+size > maxRecordBatchBytes {
			round[tp]++
			b = nil
		}
		if b == nil {
			b = &partBatch{topic: m.Topic, partition: p}
			byPart[tp] = b
			k := round[tp]
			if k == len(rounds) {
				rounds = append(rounds, nil)
			}
			rounds[k] = append(rounds[k], b)
		}
		b.idx = append(b.idx, int32(i))
		b.bytes += size
	}
	return rounds, nil
}

// recordSize is about the bytes m takes in a record batch, uncompressed.
func recordSize(m *Message) int {
	n := recordOverhead + len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 2
	}
	return n
}

type topicPart struct {
	topic     string
	partition int32
}

// partitions returns topic's partition count, from the transport's cached
// metadata.
func (d *direct) partitions(ctx context.Context, topic string) (int, error) {
	r, err := d.tr.RoundTrip(ctx, d.addr, &metadataAPI.Request{TopicNames: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range r.(*metadataAPI.Response).Topics {
		if t.Name == topic {
			if t.ErrorCode != 0 {
				return 0, fmt.Errorf("metadata of %s: %w", topic, kafkago.Error(t.ErrorCode))
			}
			if len(t.Partitions) == 0 {
				return 0, fmt.Errorf("metadata of %s: no partitions", topic)
			}
			return len(t.Partitions), nil
		}
	}
	return 0, fmt.Errorf("metadata of %s: %w", topic, kafkago.UnknownTopicOrPartition)
}

// leaders returns the leader of each partition of parts' topics.
func (d *direct) leaders(ctx context.Context, parts []*partBatch) (map[topicPart]int32, error) {
	var names []string
	for _, p := range parts {
		if len(names) == 0 || names[len(names)-1] != p.topic {
			names = append(names, p.topic)
		}
	}
	r, err := d.tr.RoundTrip(ctx, d.addr, &metadataAPI.Request{TopicNames: names})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	out := map[topicPart]int32{}
	for _, t := range r.(*metadataAPI.Response).Topics {
		for _, p := range t.Partitions {
			out[topicPart{t.Name, p.PartitionIndex}] = p.LeaderID
		}
	}
	return out, nil
}

// send writes parts, one request per leader (concurrently when there are
// several), and sets each part's err.
func (d *direct) send(ctx context.Context, msgs []Message, parts []*partBatch) {
	leaders, err := d.leaders(ctx, parts)
	if err != nil {
		for _, p := range parts {
			p.err = err
		}
		return
	}
	groups := map[int32][]*partBatch{}
	var order []int32
	for _, p := range parts {
		l, ok := leaders[topicPart{p.topic, p.partition}]
		if !ok {
			p.err = kafkago.LeaderNotAvailable
			continue
		}
		if groups[l] == nil {
			order = append(order, l)
		}
		groups[l] = append(groups[l], p)
	}
	if len(order) == 1 {
		d.sendTo(ctx, msgs, groups[order[0]])
		return
	}
	var wg sync.WaitGroup
	for _, l := range order {
		wg.Go(func() { d.sendTo(ctx, msgs, groups[l]) })
	}
	wg.Wait()
}

// sendTo writes parts, which share a leader, in one request.
func (d *direct) sendTo(ctx context.Context, msgs []Message, parts []*partBatch) {
	timeout := int32(10_000)
	if dl, ok := ctx.Deadline(); ok {
		timeout = int32(max(time.Until(dl).Milliseconds(), 1))
	}
	req := &produceAPI.Request{Acks: d.acks, Timeout: timeout}
	for _, p := range parts {
		p.err = nil
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != p.topic {
			req.Topics = append(req.Topics, produceAPI.RequestTopic{Topic: p.topic})
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, produceAPI.RequestPartition{
			Partition: p.partition,
			RecordSet: protocol.RecordSet{Attributes: d.attrs, Records: &records{msgs: msgs, idx: p.idx}},
		})
	}
	r, err := d.tr.RoundTrip(ctx, d.addr, req)
	if err != nil {
		for _, p := range parts {
			p.err = err
		}
		return
	}
	got := map[topicPart]error{}
	for _, t := range r.(*produceAPI.Response).Topics {
		for _, p := range t.Partitions {
			var perr error
			if p.ErrorCode != 0 {
				perr = kafkago.Error(p.ErrorCode)
			}
			got[topicPart{t.Topic, p.Partition}] = perr
		}
	}
	for _, p := range parts {
		perr, ok := got[topicPart{p.topic, p.partition}]
		if !ok {
			perr = fmt.Errorf("no answer for %s/%d", p.topic, p.partition)
		}
		p.err = perr
	}
}

// retriable reports whether a write that failed with err may succeed if
// tried again, as the Writer judges it.
func retriable(err error) bool {
	var temp interface{ Temporary() bool }
	if errors.As(err, &temp) {
		return temp.Temporary()
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// records reads the records of a batch at idx, without copying them.
type records struct {
	msgs       []Message
	idx        []int32
	next       int
	rec        protocol.Record
	key, value bytesReader
}

func (r *records) ReadRecord() (*protocol.Record, error) {
	if r.next >= len(r.idx) {
		return nil, io.EOF
	}
	m := &r.msgs[r.idx[r.next]]
	r.next++
	r.rec = protocol.Record{Time: m.Time} // kafka-go stamps a zero time with the time of sending
	for _, h := range m.Headers {
		r.rec.Headers = append(r.rec.Headers, protocol.Header{Key: h.Key, Value: h.Value})
	}
	if m.Key != nil {
		r.key.Reset(m.Key)
		r.rec.Key = &r.key
	}
	if m.Value != nil {
		r.value.Reset(m.Value)
		r.rec.Value = &r.value
	}
	return &r.rec, nil
}

type bytesReader struct{ bytes.Reader }

func (*bytesReader) Close() error { return nil }
