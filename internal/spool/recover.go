package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// recover rebuilds the Spool's state from the files in its directory.
func (s *Spool) recover() error {
	syncing := s.opts.Sync != SyncNever
	if err := os.Remove(filepath.Join(s.dir, cursorTmpFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	cseg, coff, found, corrupt, err := readCursorFile(s.dir)
	if err != nil {
		return err
	}
	stored := position{cseg, coff}
	if corrupt {
		s.log.Warn("spool: cursor file is corrupt; replaying every record on disk")
		cseg, coff = 0, 0
	}
	ids, err := listSegments(s.dir)
	if err != nil {
		return err
	}

	var (
		removed bool
		nextID  = max(cseg, 1)
	)
	if len(ids) > 0 {
		nextID = max(nextID, ids[len(ids)-1]+1)
	}
	remove := func(id uint64) error {
		removed = true
		if err := os.Remove(segmentPath(s.dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}

	// Segments before the cursor's were acknowledged in full; a crash cut
	// their deletion short.
	for len(ids) > 0 && ids[0] < cseg {
		if err := remove(ids[0]); err != nil {
			return err
		}
		ids = ids[1:]
	}
	if len(ids) == 0 || ids[0] > cseg {
		// The cursor's segment is gone (it was consumed, or never made
		// it to disk): start at the oldest segment left.
		cseg, coff = 0, 0
	}

	for i, id := range ids {
		last := i == len(ids)-1
		from := int64(0)
		if id == cseg {
			from = coff
		}
		seg, res, err := s.recoverSegment(id, from, last)
		if err != nil {
			return err
		}
		if id == cseg && res.snap != coff {
			if coff > res.end {
				s.log.Info("spool: cursor is past the end of its segment; records it had passed are gone, which a crash after Ack can cause",
					"segment", id, "cursor", coff, "end", res.end)
			} else {
				s.log.Warn("spool: cursor is not at a record boundary; resuming at the record before it",
					"segment", id, "cursor", coff, "resume", res.snap)
			}
			coff = res.snap
		}
		if seg.size == 0 && !last {
			if err := remove(id); err != nil {
				return err
			}
			if id == cseg {
				cseg, coff = 0, 0
			}
			continue
		}
		if cseg == 0 {
			cseg, coff = id, 0
		}
		s.segs = append(s.segs, seg)
		s.appended += res.pendRecs
		s.appendedBytes += res.pendBytes
	}

	if len(s.segs) == 0 {
		// No segments: start afresh.
		f, err := os.OpenFile(segmentPath(s.dir, nextID), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		s.w = f
		s.segs = append(s.segs, segment{id: nextID})
		removed = true // the directory changed
		if cseg == 0 {
			cseg, coff = nextID, 0
		}
	}
	if !found || corrupt || stored != (position{cseg, coff}) {
		// Persist where recovery resumes, or a later Open would resume at
		// a stored cursor that now points into records appended since.
		if err := writeCursorFile(s.dir, cseg, coff, syncing); err != nil {
			return err
		}
		removed = true // the directory changed
	}
	if removed && syncing {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	active := s.segs[len(s.segs)-1]
	s.durable = position{active.id, active.size}
	s.acked = Cursor{sp: s, seg: cseg, off: coff}
	return nil
}

// recoverSegment scans one segment file, truncates whatever follows its
// last valid frame, and leaves the last segment open for appending in s.w.
func (s *Spool) recoverSegment(id uint64, from int64, last bool) (segment, scanResult, error) {
	path := segmentPath(s.dir, id)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return segment{}, scanResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return segment{}, scanResult{}, err
	}
	res, err := scanSegment(f, fi.Size(), from)
	if err != nil {
		return segment{}, scanResult{}, fmt.Errorf("scan %s: %w", path, err)
	}
	if res.end < fi.Size() {
		msg := "spool: dropped a corrupt part of a segment, and the records after it"
		if last {
			// What a crash in the middle of an append leaves. Under
			// SyncAlways, no Append that returned nil wrote it.
			msg = "spool: cut off a torn or corrupt tail"
		}
		s.log.Warn(msg, "segment", id, "kept", res.end, "dropped", fi.Size()-res.end)
		if err := f.Truncate(res.end); err != nil {
			return segment{}, scanResult{}, err
		}
	}
	if last {
		// The last segment is appended to. Fsync what is there first, so
		// that a crash now cannot lose what the previous run wrote but
		// had not synced, which would leave a hole behind new appends.
		if s.opts.Sync != SyncNever {
			if err := f.Sync(); err != nil {
				return segment{}, scanResult{}, err
			}
		}
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return segment{}, scanResult{}, err
		}
		s.w = w
	}
	return segment{id: id, size: res.end}, res, nil
}
