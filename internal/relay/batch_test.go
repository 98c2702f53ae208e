package relay

import (
	"bytes"
	"testing"

	"github.com/ecrm/ecrm/internal/kafka"
)

// A batch takes MaxBatch hits, or fewer when MaxBatchBytes says so, and one
// hit however large.
func TestBatchLen(t *testing.T) {
	hit := func(n int) kafka.Message {
		return kafka.Message{Key: []byte("k"), Value: bytes.Repeat([]byte("v"), n-1)}
	}
	queue := func(sizes ...int) []kafka.Message {
		var q []kafka.Message
		for _, n := range sizes {
			q = append(q, hit(n))
		}
		return q
	}
	for _, tc := range []struct {
		name  string
		queue []kafka.Message
		want  int
	}{
		{"empty", nil, 0},
		{"under both", queue(100, 100), 2},
		{"count", queue(10, 10, 10, 10, 10, 10), 4},
		{"bytes", queue(400, 400, 400), 2},
		{"bytes exactly", queue(500, 500, 1), 2},
		{"one too large", queue(5000, 1), 1},
	} {
		r := &Relay{queue: tc.queue, opts: Options{MaxBatch: 4, MaxBatchBytes: 1000}}
		if got := r.batchLen(); got != tc.want {
			t.Errorf("%s: batchLen = %d, want %d", tc.name, got, tc.want)
		}
	}
}
