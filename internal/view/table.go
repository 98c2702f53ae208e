package view

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"unsafe"
)

// table is an in-memory map from string keys to string values that the
// garbage collector does not scan: the records live in byte arenas and the
// index maps a 64-bit hash of the key to a record's offset. It holds
// millions of entries (every identifier and every profile's brief of a
// replica) without adding to the collector's work, which pointers in a
// map[string]string of that size would, on every cycle.
//
// A record is uvarint(len(key)) key uvarint(len(value)) value. Records are
// never written over: a new value is appended and the old record becomes
// dead space, reclaimed when a shard copies its live records to a new
// arena (once the dead outweigh the live). So a value returned by get,
// which points into an arena, stays valid and unchanged for as long as
// the caller holds it.
//
// Keys whose hashes collide within a shard are exact all the same: the
// later one goes to the shard's small overflow map.
type table struct {
	hash   func(string) uint64
	shards [tableShards]tshard
}

const tableShards = 64

type tshard struct {
	mu    sync.RWMutex
	pos   map[uint64]uint32 // hash of key → offset of its record in arena
	over  map[string]uint32 // keys whose hash another key holds in pos
	arena []byte
	dead  int // bytes of arena no index points to
	n     int // live records
}

func newTable() *table {
	seed := maphash.MakeSeed()
	t := &table{hash: func(s string) uint64 { return maphash.String(seed, s) }}
	for i := range t.shards {
		t.shards[i].pos = make(map[uint64]uint32)
	}
	return t
}

func (t *table) shard(key string) (*tshard, uint64) {
	h := t.hash(key)
	return &t.shards[h%tableShards], h
}

// get returns the value of key. It points into the table's memory: it is
// valid for ever, and it is the value as of the call.
func (t *table) get(key string) (string, bool) {
	s, h := t.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if off, ok := s.pos[h]; ok {
		if k, v := s.record(off); k == key {
			return v, true
		}
	}
	if off, ok := s.over[key]; ok {
		_, v := s.record(off)
		return v, true
	}
	return "", false
}

// set stores value under key, replacing any value it had.
func (t *table) set(key, value string) {
	s, h := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	off := s.appendRecord(key, value)
	if prev, ok := s.over[key]; ok {
		k, _ := s.record(off) // the arena's copy (assignment stores the key anew)
		s.over[k] = off
		s.dead += s.size(prev)
	} else if old, ok := s.pos[h]; !ok {
		s.pos[h] = off
		s.n++
	} else if k, _ := s.record(old); k == key {
		s.pos[h] = off
		s.dead += s.size(old)
	} else {
		if s.over == nil {
			s.over = make(map[string]uint32)
		}
		k, _ := s.record(off) // the arena's copy: key may be the caller's buffer
		s.over[k] = off
		s.n++
	}
	s.maybeCompact()
}

// del removes key.
func (t *table) del(key string) {
	s, h := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if off, ok := s.over[key]; ok {
		delete(s.over, key)
		s.dead += s.size(off)
		s.n--
		return
	}
	off, ok := s.pos[h]
	if !ok {
		return
	}
	if k, _ := s.record(off); k != key {
		return
	}
	delete(s.pos, h)
	s.dead += s.size(off)
	s.n--
	s.maybeCompact()
}

// len returns the number of keys.
func (t *table) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += s.n
		s.mu.RUnlock()
	}
	return n
}

// bytes returns the size of the arenas in use (live and dead records).
func (t *table) bytes() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.arena)
		s.mu.RUnlock()
	}
	return n
}

// appendRecord appends a record and returns its offset. The arena grows by
// a new, larger array when full: the old one stays as it is for the
// values handed out from it.
func (s *tshard) appendRecord(key, value string) uint32 {
	off := len(s.arena)
	s.arena = binary.AppendUvarint(s.arena, uint64(len(key)))
	s.arena = append(s.arena, key...)
	s.arena = binary.AppendUvarint(s.arena, uint64(len(value)))
	s.arena = append(s.arena, value...)
	return uint32(off)
}

// record returns the key and value of the record at off, pointing into
// the arena.
func (s *tshard) record(off uint32) (key, value string) {
	b := s.arena[off:]
	n, w := binary.Uvarint(b)
	key, b = alias(b[w:w+int(n)]), b[w+int(n):]
	n, w = binary.Uvarint(b)
	return key, alias(b[w : w+int(n)])
}

// size returns the length of the record at off.
func (s *tshard) size(off uint32) int {
	k, v := s.record(off)
	return uvarintLen(len(k)) + len(k) + uvarintLen(len(v)) + len(v)
}

// compactMin is the dead space below which a shard never compacts.
const compactMin = 16 << 10

// maybeCompact copies the live records to a new arena once the dead take
// more than half of it (and at least compactMin). The old arena is left to the
// garbage collector, and to the values still handed out from it.
func (s *tshard) maybeCompact() {
	if s.dead < compactMin || s.dead < len(s.arena)/2 {
		return
	}
	old := s
	fresh := tshard{arena: make([]byte, 0, len(s.arena)-s.dead+len(s.arena)/8)}
	pos := make(map[uint64]uint32, len(s.pos))
	for h, off := range old.pos {
		k, v := old.record(off)
		pos[h] = fresh.appendRecord(k, v)
	}
	var over map[string]uint32
	if len(old.over) > 0 {
		over = make(map[string]uint32, len(old.over))
		for k, off := range old.over {
			_, v := old.record(off)
			// The key is copied: it must not point into the old arena.
			over[string([]byte(k))] = fresh.appendRecord(k, v)
		}
	}
	s.pos, s.over, s.arena, s.dead = pos, over, fresh.arena, 0
}

// alias returns b as a string without copying: b must never change.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func uvarintLen(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], uint64(n))
}
