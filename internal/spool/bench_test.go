package spool

import (
	"bytes"
	"fmt"
	"testing"
)

// benchRecord returns a record of about 600 bytes encoded, the size of an
// enriched page hit.
func benchRecord() Record {
	return Record{
		Topic: "ecrm.hits",
		Key:   []byte("6f1c2a4e-8d3b-4f6a-9c1e-2b7d5a9e0f13"),
		Value: bytes.Repeat([]byte("x"), 500),
		Headers: []Header{
			{Key: "messageId", Value: []byte("ajs-next-1700000000000-6f1c2a4e")},
			{Key: "site", Value: []byte("shop-42")},
		},
	}
}

// drainUntimed consumes everything pending with the timer stopped, so that
// long benchmarks neither hit MaxBytes nor fill the disk.
func drainUntimed(b *testing.B, s *Spool) {
	b.StopTimer()
	mustDrain(b, s, 4096)
	b.StartTimer()
}

func BenchmarkAppend(b *testing.B) {
	rec := benchRecord()
	for _, p := range policies {
		b.Run("sync="+p.String(), func(b *testing.B) {
			s := mustOpen(b, b.TempDir(), Options{Sync: p})
			b.SetBytes(frameSize(b, rec))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := s.Append(rec); err != nil {
					b.Fatal(err)
				}
				if i%100_000 == 99_999 {
					drainUntimed(b, s)
				}
			}
		})
	}
}

// BenchmarkAppendParallel shows concurrent Appends sharing fsyncs.
func BenchmarkAppendParallel(b *testing.B) {
	rec := benchRecord()
	for _, p := range policies {
		for _, procs := range []int{8, 64} {
			b.Run(fmt.Sprintf("sync=%v/goroutines=%d", p, procs), func(b *testing.B) {
				s := mustOpen(b, b.TempDir(), Options{Sync: p, MaxBytes: 1 << 40})
				b.SetBytes(frameSize(b, rec))
				b.SetParallelism(procs)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := s.Append(rec); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkPeekAck measures draining in batches of 500, the rate at which a
// spool empties once Kafka is back; every Ack persists the cursor.
func BenchmarkPeekAck(b *testing.B) {
	rec := benchRecord()
	batch := make([]Record, 500)
	for i := range batch {
		batch[i] = rec
	}
	for _, p := range policies {
		b.Run("sync="+p.String(), func(b *testing.B) {
			s := mustOpen(b, b.TempDir(), Options{Sync: p})
			b.SetBytes(frameSize(b, rec))
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				if s.Len() == 0 {
					b.StopTimer()
					for range 200 {
						mustAppend(b, s, batch...)
					}
					b.StartTimer()
				}
				recs, c := mustPeek(b, s, min(500, b.N-done))
				mustAck(b, s, c)
				done += len(recs)
			}
		})
	}
}
