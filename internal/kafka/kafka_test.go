package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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
