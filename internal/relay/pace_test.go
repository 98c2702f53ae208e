package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/relay"
)

// cpuTime returns the CPU time this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRelayPaced publishes hits shaped like the collector's (about
// 1.1 KB of JSON, 10,000 keys) at 60,000 a second, 60 every millisecond,
// for b.N seconds through a relay to the embedded broker, and reports the
// process's CPU time per hit: the relay, kafka-go, compression and the
// broker, plus making the hits. The rate, not the CPU, sets the batch
// sizes, as in the collector.
func BenchmarkRelayPaced(b *testing.B) {
	addr := freeAddr(b)
	br := mustBroker(b, addr, b.TempDir())
	defer br.Close()
	ctx := context.Background()
	kcfg, topic, sp := mustHits(ctx, b, addr, 0)
	r := relay.New(kcfg, sp, relay.Options{}, slog.New(slog.DiscardHandler), nil)
	go r.Run()
	defer r.Close(ctx)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	n := 0
	run := func(ms int) {
		for range ms {
			<-tick.C
			for range 60 {
				n++
				v := fmt.Appendf(nil, `{"type":"page","messageId":"bench-0123456789abcdef-%d","anonymousId":"%08x-1234-4abc-a123-%012x","timestamp":"2026-11-22T23:40:39.%03dZ","properties":{"path":"/shoes/running","referrer":"https://shop.example/","title":"Running shoes | Shop","url":"https://shop.example/shoes/running"},"context":{"page":{"path":"/shoes/running","referrer":"https://shop.example/","title":"Running shoes | Shop","url":"https://shop.example/shoes/running"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","locale":"en-US","library":{"name":"ecrm.js","version":"0.1.0"},"campaign":{"source":"newsletter","medium":"email"},"sessionId":17638512%05d,"ip":"127.0.0.0"},"receivedAt":"2026-11-22T23:40:39.%03dZ","siteId":"demo","visitorId":"%016x%016x","ua":{"browser":"Chrome","version":"131.0.0.0","os":"Windows","device":"desktop"}}`,
					n, rand.Uint32(), rand.Uint64()&0xffffffffffff, n%1000, n%10000, (n+150)%1000, rand.Uint64(), rand.Uint64())
				m := kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "%032x", n%10_000), Value: v, Time: time.Now()}
				if err := r.Publish(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	run(500) // connections up, batches at their size
	b.ResetTimer()
	c0, n0 := cpuTime(b), n
	run(1000 * b.N)
	b.ReportMetric(float64(cpuTime(b)-c0)/float64(time.Microsecond)/float64(n-n0), "cpu-µs/hit")
}
