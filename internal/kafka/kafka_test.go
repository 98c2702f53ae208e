package kafka_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/kafka"
)

func mustBroker(tb testing.TB) kafka.Config {
	tb.Helper()
	b, err := broker.Start("127.0.0.1:0", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	cfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 4}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, cfg); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// recorder is a PartitionHandler that keeps what it saw in memory.
type recorder struct {
	mu   sync.Mutex
	next map[int]int64
	seen map[string]int
	n    int
}

func (r *recorder) Open(_ context.Context, p int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off, ok := r.next[p]; ok {
		return off, nil
	}
	return kafka.FirstOffset, nil
}

func (r *recorder) Handle(_ context.Context, p int, msgs []kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.seen[string(m.Value)]++
		r.n++
		r.next[p] = m.Offset + 1
	}
	return nil
}

func (r *recorder) Close(int) {}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func TestProduceAndConsume(t *testing.T) {
	cfg := mustBroker(t)
	topic := cfg.Topics().Hits
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p := kafka.NewProducer(cfg, false, kafka.ProducerOptions{})
	const n = 200
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%17), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []string{"group", "tail"} {
		t.Run(mode, func(t *testing.T) {
			rec := &recorder{next: map[int]int64{}, seen: map[string]int{}}
			rctx, rcancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				if mode == "group" {
					done <- kafka.NewGroup(cfg, "test-group", topic, rec, kafka.ReadOptions{}).Run(rctx)
				} else {
					done <- kafka.Tail(rctx, cfg, topic, rec, kafka.ReadOptions{})
				}
			}()
			for rec.count() < n && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			rcancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := rec.count(); got != n {
				t.Fatalf("consumed %d records, want %d", got, n)
			}
			for v, c := range rec.seen {
				if c != 1 {
					t.Errorf("record %s seen %d times, want 1", v, c)
				}
			}
		})
	}
}

// partitionRecorder keeps, for each partition, the records it saw in order.
type partitionRecorder struct {
	mu   sync.Mutex
	recs map[int][]kafka.Message
	n    int
}

func (r *partitionRecorder) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }

func (r *partitionRecorder) Handle(_ context.Context, p int, msgs []kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs[p] = append(r.recs[p], msgs...)
	r.n += len(msgs)
	return nil
}

func (r *partitionRecorder) Close(int) {}

// readPartitions reads topic from its start until it has read n records
// or ctx is done.
func readPartitions(ctx context.Context, t *testing.T, cfg kafka.Config, topic string, n int) *partitionRecorder {
	t.Helper()
	rec := &partitionRecorder{recs: map[int][]kafka.Message{}}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- kafka.Tail(rctx, cfg, topic, rec, kafka.ReadOptions{}) }()
	for rec.count() < n && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return rec
}

func (r *partitionRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// A Direct producer puts each key in the partition kafka-go's Writer puts
// it in, keeps the records' order, time and headers, and retries nothing
// it need not: every record lands once.
func TestDirectProducerMatchesWriter(t *testing.T) {
	t.Run("one broker", func(t *testing.T) { testDirectProducer(t, mustBroker(t)) })
	t.Run("three brokers", func(t *testing.T) {
		// Partitions led by different brokers: one request to each leader.
		c, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		cfg := kafka.Config{Brokers: c.ListenAddrs(), Partitions: 6}.WithDefaults()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := kafka.EnsureTopics(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		testDirectProducer(t, cfg)
	})
}

func testDirectProducer(t *testing.T, cfg kafka.Config) {
	topic := cfg.Topics().Hits
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const n = 300
	at := time.UnixMilli(1_700_000_000_123)
	batch := func(prefix string) []kafka.Message {
		var msgs []kafka.Message
		for i := range n {
			m := kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%23), Value: fmt.Appendf(nil, "%s-%d", prefix, i), Time: at.Add(time.Duration(i) * time.Millisecond)}
			if i%50 == 0 {
				m.Headers = []kafka.Header{{Key: "h", Value: fmt.Appendf(nil, "%d", i)}}
			}
			msgs = append(msgs, m)
		}
		return msgs
	}
	w := kafka.NewProducer(cfg, false, kafka.ProducerOptions{})
	if err := w.Publish(ctx, batch("w")...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d := kafka.NewProducer(cfg, false, kafka.ProducerOptions{Fast: true, Direct: true})
	// Two batches: the second goes after the first in every partition.
	all := batch("d")
	if err := d.Publish(ctx, all[:n/2]...); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(ctx, all[n/2:]...); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	rec := readPartitions(ctx, t, cfg, topic, 2*n)
	if got := rec.count(); got != 2*n {
		t.Fatalf("consumed %d records, want %d", got, 2*n)
	}
	partOf := map[string]int{} // key by the Writer
	for p, msgs := range rec.recs {
		for _, m := range msgs {
			if m.Value[0] == 'w' {
				partOf[string(m.Key)] = p
			}
		}
	}
	used := map[int]bool{}
	for p, msgs := range rec.recs {
		last := -1
		for _, m := range msgs {
			var i int
			if _, err := fmt.Sscanf(string(m.Value), "d-%d", &i); err != nil {
				continue
			}
			used[p] = true
			if want, ok := partOf[string(m.Key)]; !ok || want != p {
				t.Errorf("record %s of key %s in partition %d, the Writer's records of that key in %d", m.Value, m.Key, p, want)
			}
			if i <= last {
				t.Errorf("partition %d: record d-%d after d-%d", p, i, last)
			}
			last = i
			if want := at.Add(time.Duration(i) * time.Millisecond); !m.Time.Equal(want) {
				t.Errorf("record d-%d time %v, want %v", i, m.Time, want)
			}
			if i%50 == 0 {
				if len(m.Headers) != 1 || m.Headers[0].Key != "h" || string(m.Headers[0].Value) != fmt.Sprint(i) {
					t.Errorf("record d-%d headers %+v, want h=%d", i, m.Headers, i)
				}
			} else if len(m.Headers) != 0 {
				t.Errorf("record d-%d headers %+v, want none", i, m.Headers)
			}
		}
	}
	if len(used) < 2 {
		t.Errorf("direct records in %d partitions, want them spread", len(used))
	}
}

// A Direct producer given more than Kafka takes in one record batch (1
// MiB by default) for one partition sends it in several, in order; a
// record without a time (as the spool replays them) gets the time it was
// sent, not 1970, which time-based retention would delete at once.
func TestDirectProducerLargeBatch(t *testing.T) {
	cfg := mustBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := cfg.Topics().Hits

	const n = 1500 // of 2 KB each that lz4 cannot shrink, one key: 3 MB for one partition
	var msgs []kafka.Message
	for i := range n {
		rnd := make([]byte, 1000)
		rand.Read(rnd)
		m := kafka.Message{Topic: topic, Key: []byte("visitor"), Value: fmt.Appendf(nil, "%06d/%s", i, hex.EncodeToString(rnd)), Time: time.Now()}
		if i == n/2 {
			m.Time = time.Time{}
		}
		msgs = append(msgs, m)
	}
	d := kafka.NewProducer(cfg, false, kafka.ProducerOptions{Fast: true, Direct: true, MaxAttempts: 1})
	before := time.Now()
	if err := d.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rec := readPartitions(ctx, t, cfg, topic, n)
	if len(rec.recs) != 1 {
		t.Fatalf("records of one key in %d partitions", len(rec.recs))
	}
	var got []kafka.Message
	for _, got = range rec.recs {
	}
	if len(got) != n {
		t.Fatalf("consumed %d records, want %d", len(got), n)
	}
	for i, m := range got {
		if string(m.Value) != string(msgs[i].Value) {
			t.Fatalf("record %d is %.6s…, want %.6s…", i, m.Value, msgs[i].Value)
		}
	}
	// Kafka keeps milliseconds.
	if at := got[n/2].Time; at.Before(before.Truncate(time.Millisecond)) || at.After(after) {
		t.Errorf("the record without a time was stamped %v, want between %v and %v", at, before, after)
	}
}
