package kafka

import (
	"bytes"
	"testing"
	"time"
	"unsafe"
)

func TestPoolClass(t *testing.T) {
	for _, tc := range []struct{ n, class int }{
		{0, 0}, {1, 0}, {512, 0}, {513, 1}, {1024, 1}, {1025, 2}, {800, 1},
		{32 << 10, 6}, {32<<10 + 1, 7}, {64 << 10, 7}, {64<<10 + 1, -1}, {1 << 20, -1},
	} {
		if got := poolClass(tc.n); got != tc.class {
			t.Errorf("poolClass(%d) = %d, want %d", tc.n, got, tc.class)
		}
		if tc.class >= 0 && 1<<(tc.class+minPoolShift) < tc.n {
			t.Errorf("class %d of %d bytes is too small", tc.class, tc.n)
		}
	}
}

func TestNewPooled(t *testing.T) {
	now := time.Now()
	for _, size := range []int{0, 10, 800, 4096, 100 << 10} {
		kv := bytes.Repeat([]byte("v"), size)
		kv = append([]byte("visitor-1"), kv...)
		m := NewPooled("hits", kv, 9, now)
		if m.Topic != "hits" || string(m.Key) != "visitor-1" || !bytes.Equal(m.Value, kv[9:]) || !m.Time.Equal(now) {
			t.Fatalf("%d bytes: record %q/%d bytes at %v", size, m.Key, len(m.Value), m.Time)
		}
		if (m.buf == nil) != (size > 64<<10) {
			t.Errorf("%d bytes: pooled %t", size, m.buf != nil)
		}
		// Neither slice reaches into the other or beyond: appending to
		// one never overwrites what follows it in the buffer.
		if cap(m.Key) != len(m.Key) || cap(m.Value) != len(m.Value) {
			t.Errorf("%d bytes: key cap %d len %d, value cap %d len %d", size, cap(m.Key), len(m.Key), cap(m.Value), len(m.Value))
		}
		kv[0] = 'X' // the record has its own copy
		if m.Key[0] != 'v' {
			t.Errorf("%d bytes: the record shares the caller's bytes", size)
		}
	}
}

func TestReleaseReuses(t *testing.T) {
	kv := []byte("k1" + string(bytes.Repeat([]byte("x"), 700)))
	reused := false
	// The pool may drop what it is given (the race detector makes it drop
	// some on purpose, a collection empties it): try until one comes back.
	for range 1000 {
		m := NewPooled("hits", kv, 2, time.Now())
		first := unsafe.SliceData(m.Key)
		msgs := []Message{m}
		Release(msgs)
		if msgs[0].Key != nil || msgs[0].Value != nil || msgs[0].buf != nil {
			t.Fatalf("released record keeps %q, %d bytes", msgs[0].Key, len(msgs[0].Value))
		}
		n := NewPooled("hits", kv, 2, time.Now())
		if string(n.Key) != "k1" || !bytes.Equal(n.Value, kv[2:]) {
			t.Fatalf("record from a reused buffer: %q/%q", n.Key, n.Value)
		}
		if unsafe.SliceData(n.Key) == first {
			reused = true
			break
		}
	}
	if !reused {
		t.Error("no released buffer was reused in 1000 tries")
	}
	// Records not from the pool are left as they are.
	plain := []Message{{Topic: "hits", Key: []byte("k"), Value: []byte("v")}}
	Release(plain)
	if string(plain[0].Key) != "k" || string(plain[0].Value) != "v" {
		t.Errorf("Release changed a record not from the pool: %+v", plain[0])
	}
}
