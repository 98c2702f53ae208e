package kafka

import (
	"math/bits"
	"sync"
	"time"
)

// Pooled records. A hot producer (the collector: one record a hit) builds
// each record in a buffer of a pool with NewPooled, and whoever is done
// with the record last (the relay, once Kafka acknowledged it or the
// spool copied it) gives the buffer back with Release. Allocating a
// record's copy anew for each hit is most of what the collector
// allocates, and so of its garbage collections, whose marking takes a
// core from the handlers for milliseconds.
//
// Release is an optimisation, never an obligation: a pooled record that
// is dropped, or handed to a Producer that never releases, is reclaimed
// by the garbage collector like any other.

// Buffer classes: powers of two from 512 bytes to 64 KiB (an event is at
// most 32 KiB). Larger records are not pooled.
const (
	minPoolShift = 9
	maxPoolShift = 16
)

var recordPools [maxPoolShift - minPoolShift + 1]sync.Pool

// poolClass returns the index of the class holding n bytes, or -1 when n
// is too large to pool.
func poolClass(n int) int {
	if n <= 1<<minPoolShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minPoolShift
	if c >= len(recordPools) {
		return -1
	}
	return c
}

// NewPooled returns a record of topic at t whose key is kv[:keyLen] and
// whose value is kv[keyLen:], both in one copy of kv from the pool, which
// the record owns until Release.
func NewPooled(topic string, kv []byte, keyLen int, t time.Time) Message {
	var b []byte
	var bp *[]byte
	if c := poolClass(len(kv)); c >= 0 {
		if v := recordPools[c].Get(); v != nil {
			bp = v.(*[]byte)
		} else {
			bp = new([]byte)
			*bp = make([]byte, 1<<(c+minPoolShift))
		}
		b = (*bp)[:len(kv)]
	} else {
		b = make([]byte, len(kv))
	}
	copy(b, kv)
	return Message{Topic: topic, Key: b[:keyLen:keyLen], Value: b[keyLen:len(b):len(b)], Time: t, buf: bp}
}

// Release gives the buffers of msgs' pooled records back to the pool and
// empties those records' keys and values. The caller must hold the only
// copies of these records that anyone will read again: a buffer released
// is the next record's.
func Release(msgs []Message) {
	for i := range msgs {
		m := &msgs[i]
		if m.buf == nil {
			continue
		}
		if c := poolClass(cap(*m.buf)); c >= 0 {
			recordPools[c].Put(m.buf)
		}
		m.buf, m.Key, m.Value = nil, nil, nil
	}
}

// Forget makes msgs' records ordinary ones: Release leaves them as they
// are, and the garbage collector takes their buffers when nothing reads
// them any more. For records something may still read after their owner
// is done with them (a request abandoned at its timeout).
func Forget(msgs []Message) {
	for i := range msgs {
		msgs[i].buf = nil
	}
}
