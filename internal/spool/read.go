package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Peek returns up to max of the oldest records pending, in the order they
// were appended, without removing them, and the Cursor just past them. It
// returns no records, and no error, when none are pending. Until Ack moves
// past them, Peek returns the same records again.
//
// Peek sees a record as soon as it is written, which under SyncAlways can be
// before its Append has fsynced it and returned; if that fsync then fails,
// the record may reach Kafka although its Append reported an error, and the
// client's retry is a duplicate (de-duplicated by messageId).
//
// The records are the caller's: their byte slices share no memory with the
// spool or with one another's fields.
func (s *Spool) Peek(max int) ([]Record, Cursor, error) {
	return s.PeekBytes(max, 0)
}

// PeekBytes is Peek of at most maxBytes of framed records (0: no bound),
// and at least one record however large.
func (s *Spool) PeekBytes(max int, maxBytes int64) ([]Record, Cursor, error) {
	if maxBytes <= 0 {
		maxBytes = 1<<63 - 1
	}
	if max <= 0 {
		return nil, Cursor{}, fmt.Errorf("spool: peek: max is %d, want 1 or more", max)
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, Cursor{}, ErrClosed
	}
	cur := s.acked
	pending := s.appended - cur.idx
	if pending == 0 {
		s.mu.Unlock()
		return nil, cur, nil
	}
	i := slices.IndexFunc(s.segs, func(sg segment) bool { return sg.id == cur.seg })
	if i < 0 {
		s.mu.Unlock()
		return nil, Cursor{}, fmt.Errorf("spool: peek: cursor %v is in no segment", cur)
	}
	segs := slices.Clone(s.segs[i:])
	s.mu.Unlock()

	recs := make([]Record, 0, min(int64(max), pending))
	var size int64
segments:
	for _, sg := range segs {
		if sg.id != cur.seg {
			cur.seg, cur.off = sg.id, 0
		}
		if cur.off >= sg.size {
			continue
		}
		if err := s.openRead(sg.id); err != nil {
			return peekResult(recs, cur, err)
		}
		s.rbuf.Reset(io.NewSectionReader(s.rf, cur.off, sg.size-cur.off))
		for cur.off < sg.size && len(recs) < cap(recs) {
			r, n, err := readFrame(s.rbuf, sg.size-cur.off)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = ErrCorrupt // the file shrank underneath us
				}
				return peekResult(recs, cur, fmt.Errorf("spool: peek at %v: %w", cur, err))
			}
			if size += n; size > maxBytes && len(recs) > 0 {
				break segments // read, but for the next Peek: cur stays before it
			}
			recs = append(recs, r)
			cur.off += n
			cur.idx++
			cur.bytes += n
		}
		if len(recs) == cap(recs) {
			break
		}
	}
	return recs, cur, nil
}

// peekResult returns the records read before err, if any, so that the
// consumer gets as far as it can; the next Peek reports err.
func peekResult(recs []Record, cur Cursor, err error) ([]Record, Cursor, error) {
	if len(recs) > 0 {
		return recs, cur, nil
	}
	return nil, Cursor{}, err
}

// openRead makes s.rf the segment id, opened for reading. s.cmu is held.
func (s *Spool) openRead(id uint64) error {
	if s.rf != nil && s.rseg == id {
		return nil
	}
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	f, err := os.Open(segmentPath(s.dir, id))
	if err != nil {
		return fmt.Errorf("spool: peek: %w", err)
	}
	s.rf, s.rseg = f, id
	return nil
}

// Ack consumes the records before c, which a Peek returned: it persists the
// read cursor, frees their bytes toward Options.MaxBytes and deletes the
// segment files left entirely behind. Acknowledging a cursor at or before an
// earlier one does nothing. The cursor is fsynced before Ack returns unless
// the policy is SyncNever; if it is lost anyway, the records after the
// previous cursor are delivered again.
//
// When the cursor file cannot be written (a full disk), the segments left
// behind are deleted all the same, which frees room, and the cursor is
// written again; if that fails too, the records are consumed anyway and a
// warning logged: Peek goes on past them, a later Ack or Close saves the
// cursor, and a crash before then delivers them again. Ack never has the
// same records delivered again and again because a write failed.
func (s *Spool) Ack(c Cursor) error {
	if c == (Cursor{}) {
		return nil
	}
	if c.sp != s {
		return ErrInvalidCursor
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if c.idx <= s.acked.idx {
		s.mu.Unlock()
		return nil
	}
	i := slices.IndexFunc(s.segs, func(sg segment) bool { return sg.id == c.seg })
	if c.idx > s.appended || i < 0 || c.off > s.segs[i].size {
		s.mu.Unlock()
		return ErrInvalidCursor
	}
	// A cursor at the end of a full segment is the start of the next one;
	// the segments before the cursor's can go.
	for i < len(s.segs)-1 && c.off >= s.segs[i].size {
		i++
		c.seg, c.off = s.segs[i].id, 0
	}
	drop := i
	s.mu.Unlock()

	sync := s.opts.Sync != SyncNever
	werr := writeCursor(s.dir, c.seg, c.off, sync)

	// Deleting segments before the cursor is saved is safe: a cursor in a
	// segment that is gone resumes at the oldest one left (recover).
	s.mu.Lock()
	s.acked = c
	gone := slices.Clone(s.segs[:drop])
	s.segs = slices.Delete(s.segs, 0, drop)
	s.mu.Unlock()

	for _, sg := range gone {
		if s.rf != nil && s.rseg == sg.id {
			s.rf.Close()
			s.rf = nil
		}
		// A segment left behind is deleted by the next Open, because
		// the cursor is past it.
		if err := os.Remove(segmentPath(s.dir, sg.id)); err != nil {
			s.log.Warn("spool: could not delete a consumed segment", "segment", sg.id, "err", err)
		}
	}
	if werr != nil && len(gone) > 0 {
		werr = writeCursor(s.dir, c.seg, c.off, sync) // with the room they freed
	}
	if werr != nil {
		s.dirty = true // Close tries again
		s.log.Warn("spool: ack: the read cursor could not be saved; a crash before it is would deliver the records since the last saved one again",
			"cursor", c, "err", werr)
		return nil
	}
	s.dirty = !sync
	return nil
}

// Len returns the number of records pending: appended and not acknowledged.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.appended - s.acked.idx)
}

// Bytes returns the bytes pending, counted as Options.MaxBytes counts them:
// each record's encoding plus 8 bytes of framing.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendedBytes - s.acked.bytes
}

// Notify returns a channel that is closed when there are records to Peek: at
// once if any are pending, otherwise at the next Append. It is also closed
// by Close. A consumer that finds nothing to Peek waits on it instead of
// polling; a fresh channel is needed for each wait.
func (s *Spool) Notify() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.appended > s.acked.idx {
		return closedChan
	}
	if s.notify == nil {
		s.notify = make(chan struct{})
	}
	return s.notify
}
