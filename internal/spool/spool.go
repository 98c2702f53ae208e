package spool

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

var (
	// ErrFull is returned by Append when the records would take the bytes
	// pending past Options.MaxBytes. Nothing was appended; try again once the
	// consumer has acknowledged records (the collector answers 503).
	ErrFull = errors.New("spool: full")

	// ErrTooLarge is returned by Append when the records could never fit: the
	// batch is larger than Options.MaxBytes, or one record encodes to more
	// than 1 GiB. Nothing was appended.
	ErrTooLarge = errors.New("spool: too large")

	// ErrClosed is returned by Append, Peek and Ack after Close, and by Close
	// when called again.
	ErrClosed = errors.New("spool: closed")

	// ErrLocked is returned by Open when another Spool, in this process or
	// another, holds the directory.
	ErrLocked = errors.New("spool: directory in use by another spool")

	// ErrCorrupt is returned, wrapped, by Peek when a record that was intact
	// when written or when the spool was opened no longer reads back intact:
	// the files were changed underneath the spool, or the disk is failing.
	// Peek keeps returning it; reopening the spool drops the corrupt record
	// and the rest of its segment, and logs what it dropped.
	ErrCorrupt = errors.New("spool: corrupt record")

	// ErrInvalidCursor is returned by Ack when the cursor did not come from
	// this Spool's Peek.
	ErrInvalidCursor = errors.New("spool: invalid cursor")
)

// Spool is an append-only queue of Records in a directory, which survives
// restarts and crashes as the package documentation describes. Open returns
// one.
//
// A Spool is safe for concurrent use. Append may be called from any number of
// goroutines; Peek and Ack are meant for a single consumer, and concurrent
// calls to them are serialized.
type Spool struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// syncMu serializes fsyncs of the active segment, so that concurrent
	// Appends under SyncAlways share one. It is taken before mu.
	syncMu sync.Mutex

	// cmu serializes Peek and Ack and guards the read handle. It is taken
	// before mu.
	cmu   sync.Mutex
	rf    *os.File // open segment being read, or nil
	rseg  uint64   // id of rf's segment
	rbuf  *bufio.Reader
	dirty bool // the cursor file was written without fsync

	mu            sync.Mutex
	closed        bool
	err           error     // sticky write or fsync failure; Append refuses with it
	segs          []segment // oldest first; the last one is being appended to
	w             *os.File  // the last segment, open for appending
	durable       position  // everything before it is on stable storage
	acked         Cursor    // the next record to deliver
	appended      int64     // records appended since Open, plus those pending at Open
	appendedBytes int64     // their framed bytes
	notify        chan struct{}

	stop chan struct{} // closed by Close to stop syncLoop
	done chan struct{} // closed by syncLoop when it returns
}

// position is a byte position in the sequence of segments.
type position struct {
	seg uint64
	off int64
}

func (p position) less(q position) bool {
	return p.seg < q.seg || p.seg == q.seg && p.off < q.off
}

// closedChan is returned by Notify when there is no need to wait.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// bufPool holds encoding buffers for Append.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// Open opens the spool in dir, creating the directory if needed, and
// recovers from the last run: it deletes segments that were entirely
// acknowledged, cuts off a torn or corrupt tail (logging what it dropped),
// and resumes at the persisted cursor. Records pending at the last Close or
// crash are pending again, in the same order. Zero fields of opts take their
// defaults; see Options.
func Open(dir string, opts Options) (*Spool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("open %s: %w", dir, err)
		}
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	s := &Spool{
		dir:  dir,
		opts: opts,
		log:  opts.Logger.With("spool", dir),
		lock: lock,
		rbuf: bufio.NewReaderSize(nil, 64<<10),
	}
	if err := s.recover(); err != nil {
		if s.w != nil {
			s.w.Close()
		}
		unlockDir(lock)
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	if opts.Sync == SyncInterval {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.syncLoop(opts.SyncInterval)
	}
	return s, nil
}

// Append adds recs, in order, to the end of the spool. Either all of them
// are appended or none: Append returns ErrFull if they would take the bytes
// pending past Options.MaxBytes, and ErrTooLarge if they could never fit.
// Under SyncAlways, it returns once they are fsynced. It returns ErrClosed
// after Close, and the original error after a failed write or fsync.
//
// Append copies the records; the caller may reuse them when it returns. It
// is safe to call from many goroutines; each goroutine's records keep their
// order.
func (s *Spool) Append(recs ...Record) error {
	if len(recs) == 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return ErrClosed
		}
		return nil
	}
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 {
			bufPool.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	for i := range recs {
		var err error
		if buf, err = appendFrame(buf, &recs[i]); err != nil {
			return fmt.Errorf("append record %d: %w", i, err)
		}
	}
	*bp = buf

	end, err := s.write(buf, int64(len(recs)))
	if err != nil {
		return err
	}
	if s.opts.Sync == SyncAlways {
		return s.syncTo(end)
	}
	return nil
}

// write appends framed records to the active segment, rolling to a new one
// first if the active one is full, and returns the position after them.
func (s *Spool) write(buf []byte, nrecs int64) (position, error) {
	n := int64(len(buf))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return position{}, ErrClosed
	case s.err != nil:
		return position{}, s.err
	case n > s.opts.MaxBytes:
		return position{}, ErrTooLarge
	case s.appendedBytes-s.acked.bytes+n > s.opts.MaxBytes:
		return position{}, ErrFull
	}
	active := &s.segs[len(s.segs)-1]
	if active.size > 0 && active.size+n > s.opts.SegmentBytes {
		if err := s.rollLocked(); err != nil {
			return position{}, err
		}
		active = &s.segs[len(s.segs)-1]
	}
	if _, err := s.w.Write(buf); err != nil {
		// Undo a partial write, so that the next Append does not
		// follow a torn frame. If that fails too, what is on disk is
		// unknown.
		if terr := s.w.Truncate(active.size); terr != nil {
			s.err = fmt.Errorf("spool: append failed and could not be undone: %w", errors.Join(err, terr))
			s.log.Error("spool: refusing appends", "err", s.err)
			return position{}, s.err
		}
		return position{}, fmt.Errorf("spool: append: %w", err)
	}
	active.size += n
	s.appended += nrecs
	s.appendedBytes += n
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
	return position{active.id, active.size}, nil
}

// rollLocked starts a new segment after the active one, which it fsyncs and
// closes. s.mu is held.
func (s *Spool) rollLocked() error {
	old := s.segs[len(s.segs)-1]
	id := old.id + 1
	f, err := os.OpenFile(segmentPath(s.dir, id), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	// From here, a failure leaves the state unknown: refuse appends.
	if err := s.w.Sync(); err != nil {
		f.Close()
		return s.failLocked(fmt.Errorf("spool: fsync full segment: %w", err))
	}
	s.w.Close()
	s.w = f
	s.segs = append(s.segs, segment{id: id})
	s.durable = position{id, 0}
	if err := syncDir(s.dir); err != nil {
		return s.failLocked(fmt.Errorf("spool: fsync directory: %w", err))
	}
	return nil
}

// failLocked makes err the Spool's sticky error and returns it. s.mu is held.
func (s *Spool) failLocked(err error) error {
	if s.err == nil {
		s.err = err
		s.log.Error("spool: refusing appends until reopened", "err", err)
	}
	return s.err
}

// syncTo returns once everything before target is on stable storage,
// fsyncing the active segment if needed. Callers that arrive during an fsync
// wait for it and then find their records synced or sync them all together.
func (s *Spool) syncTo(target position) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if !s.durable.less(target) {
		s.mu.Unlock()
		return nil
	}
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	f := s.w
	active := s.segs[len(s.segs)-1]
	end := position{active.id, active.size}
	s.mu.Unlock()

	err := f.Sync()

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.durable.less(target) {
		// A roll synced and closed f meanwhile.
		return nil
	}
	if err != nil {
		return s.failLocked(fmt.Errorf("spool: fsync: %w", err))
	}
	if s.durable.less(end) {
		s.durable = end
	}
	return nil
}

// syncLoop fsyncs the active segment every interval while there is
// something to sync, until Close.
func (s *Spool) syncLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		active := s.segs[len(s.segs)-1]
		s.mu.Unlock()
		// An error is sticky and logged by failLocked; Append reports it.
		_ = s.syncTo(position{active.id, active.size})
	}
}

// Close fsyncs the spool's files and closes them. Records pending stay on
// disk for the next Open. Append, Peek and Ack return ErrClosed afterwards,
// and so does a second Close.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}

	var errs []error
	s.syncMu.Lock()
	s.mu.Lock()
	if err := s.w.Sync(); err != nil {
		errs = append(errs, err)
	} else {
		active := s.segs[len(s.segs)-1]
		s.durable = position{active.id, active.size}
	}
	errs = append(errs, s.w.Close())
	acked := s.acked
	s.mu.Unlock()
	s.syncMu.Unlock()

	s.cmu.Lock()
	if s.dirty {
		errs = append(errs, writeCursor(s.dir, acked.seg, acked.off, true))
	}
	if s.rf != nil {
		errs = append(errs, s.rf.Close())
		s.rf = nil
	}
	s.cmu.Unlock()
	errs = append(errs, unlockDir(s.lock))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close: %w", err)
	}
	return nil
}
