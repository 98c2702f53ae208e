// Package store is ecrm's local key-value state on disk, a thin layer over
// Pebble (github.com/cockroachdb/pebble/v2). Local stores are caches of what
// Kafka holds: they make restarts fast and survive them; Kafka rebuilds them.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// CacheBytes is the block cache of each store (256 MiB).
const CacheBytes = 256 << 20

// ErrNotFound is returned by Get when a key is absent.
var ErrNotFound = errors.New("store: not found")

// DB is an open store. It is safe for concurrent use.
type DB struct {
	db *pebble.DB
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cache := pebble.NewCache(CacheBytes)
	defer cache.Unref() // the DB holds its own reference
	opts := &pebble.Options{
		Logger: pebbleLogger{logger.With("component", "pebble", "dir", dir)},
		Cache:  cache,
		// Profiles are rewritten often: a larger memtable lets old versions
		// die in memory instead of in compactions.
		MemTableSize: 64 << 20,
	}
	for i := range opts.Levels {
		// Most lookups of links and dedup keys are for absent keys: a bloom
		// filter answers them without reading a block.
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return &DB{db: db}, nil
}

// Settle flushes the memtable and waits until no compaction has run for
// half a second, or ctx is done: after a bulk load, so that what is
// measured next is the store at rest, not the compactions the load left
// behind. It returns how long it waited.
func (d *DB) Settle(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := d.db.Flush(); err != nil {
		return 0, fmt.Errorf("store flush: %w", err)
	}
	for quiet := 0; ; {
		m := d.db.Metrics()
		if m.Compact.NumInProgress == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if quiet >= 5 {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Get returns a copy of the value at key, or ErrNotFound.
func (d *DB) Get(key []byte) ([]byte, error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store get: %w", err)
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// Scan calls fn with each key and value whose key starts with prefix, in
// key order, until fn returns false. The slices are valid only during fn.
func (d *DB) Scan(prefix []byte, fn func(k, v []byte) bool) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("store scan: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("store scan: %w", err)
		}
		if !fn(it.Key(), v) {
			break
		}
	}
	return it.Close()
}

// Batch is a set of writes applied atomically by Commit. It is not safe for
// concurrent use.
type Batch struct {
	b *pebble.Batch
}

// NewBatch starts an atomic write.
func (d *DB) NewBatch() *Batch { return &Batch{b: d.db.NewBatch()} }

// Set writes key = value in the batch.
func (b *Batch) Set(key, value []byte) { _ = b.b.Set(key, value, nil) }

// Delete removes key in the batch.
func (b *Batch) Delete(key []byte) { _ = b.b.Delete(key, nil) }

// DeletePrefix removes every key starting with prefix in the batch.
func (b *Batch) DeletePrefix(prefix []byte) { _ = b.b.DeleteRange(prefix, prefixEnd(prefix), nil) }

// Commit applies the batch atomically and durably (fsync of the WAL).
func (b *Batch) Commit() error {
	defer b.b.Close()
	if err := b.b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store commit: %w", err)
	}
	return nil
}

// CommitNoSync applies the batch atomically without waiting for the fsync:
// a crash may lose the last commits, but never a part of one. Use it for
// state that Kafka can rebuild and whose offsets are in the same batch.
func (b *Batch) CommitNoSync() error {
	defer b.b.Close()
	if err := b.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("store commit: %w", err)
	}
	return nil
}

// Close closes the store, flushing what it holds.
func (d *DB) Close() error {
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// pebbleLogger sends Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any)  { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Error(fmt.Sprintf(format, args...)) }

// Fatalf logs and panics: Pebble calls it only when it cannot go on safely.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic("pebble: " + msg)
}
