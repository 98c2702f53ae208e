package spool

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// seqRecord is record seq of producer p.
func seqRecord(p, seq int) Record {
	return Record{Topic: "ecrm.hits", Key: fmt.Appendf(nil, "p%d", p), Value: strconv.AppendInt(nil, int64(seq), 10)}
}

// parseSeqRecord returns the producer and sequence number of a seqRecord.
func parseSeqRecord(tb testing.TB, r Record) (p, seq int) {
	tb.Helper()
	p, err1 := strconv.Atoi(string(r.Key[1:]))
	seq, err2 := strconv.Atoi(string(r.Value))
	if err1 != nil || err2 != nil {
		tb.Fatalf("record %q=%q is not a seqRecord", r.Key, r.Value)
	}
	return p, seq
}

func TestConcurrent(t *testing.T) {
	const (
		producers = 8
		perProd   = 300
	)
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			size := frameSize(t, seqRecord(0, 100))
			// Small segments and a small bound, so that rollover,
			// deletion and ErrFull all happen while producing.
			s := mustOpen(t, t.TempDir(), Options{Sync: p, SegmentBytes: 20 * size, MaxBytes: 100 * size})

			var wg sync.WaitGroup
			for prod := range producers {
				wg.Go(func() {
					for seq := 0; seq < perProd; {
						// Batches of 1 to 3 records.
						n := min(1+(seq+prod)%3, perProd-seq)
						batch := make([]Record, n)
						for i := range batch {
							batch[i] = seqRecord(prod, seq+i)
						}
						err := s.Append(batch...)
						if errors.Is(err, ErrFull) {
							time.Sleep(100 * time.Microsecond)
							continue
						}
						if err != nil {
							t.Errorf("producer %d: Append() = %v", prod, err)
							return
						}
						seq += n
					}
				})
			}
			producersDone := make(chan struct{})
			go func() { wg.Wait(); close(producersDone) }()

			next := make([]int, producers) // the next seq expected of each producer
			total := 0
			for total < producers*perProd {
				recs, c, err := s.Peek(16)
				if err != nil {
					t.Fatalf("Peek() = %v", err)
				}
				if len(recs) == 0 {
					select {
					case <-s.Notify():
					case <-producersDone:
						if s.Len() == 0 {
							t.Fatalf("producers done with %d of %d records delivered", total, producers*perProd)
						}
					case <-time.After(30 * time.Second):
						t.Fatalf("no record for 30s; %d of %d delivered", total, producers*perProd)
					}
					continue
				}
				for _, r := range recs {
					prod, seq := parseSeqRecord(t, r)
					if seq != next[prod] {
						t.Fatalf("producer %d: got seq %d, want %d", prod, seq, next[prod])
					}
					next[prod]++
				}
				total += len(recs)
				mustAck(t, s, c)
			}
			<-producersDone
			if got := s.Len(); got != 0 {
				t.Errorf("Len() after delivering everything = %d, want 0", got)
			}
			if recs, _ := mustPeek(t, s, 1); len(recs) != 0 {
				t.Errorf("Peek() after delivering everything = %d records, want 0", len(recs))
			}
		})
	}
}
