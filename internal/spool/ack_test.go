package spool

import (
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
)

// TestAckWithoutRoomForTheCursor: the disk is full, so the cursor file
// cannot be written. Ack deletes the segments left behind, which makes
// room, and writes it then; when even that fails, the records are
// consumed all the same (Peek goes on past them, rather than delivering
// them again and again), and a crash before the cursor is saved delivers
// those of its segment again: never lost.
func TestAckWithoutRoomForTheCursor(t *testing.T) {
	dir := t.TempDir()
	size := frameSize(t, testRecord(0))
	opts := Options{SegmentBytes: 3 * size, Sync: SyncAlways}
	s := mustOpen(t, dir, opts)
	for _, r := range testRecords(0, 12) { // segments 1 to 4 full, of 3 records each, and 5 begun
		mustAppend(t, s, r)
	}

	full := true // no room, unless segment 1 is gone
	writes := 0
	t.Cleanup(func() { writeCursor = writeCursorFile })
	writeCursor = func(dir string, seg uint64, off int64, sync bool) error {
		writes++
		if _, err := os.Stat(segmentPath(dir, 1)); full && err == nil {
			return &os.PathError{Op: "write", Path: cursorTmpFile, Err: syscall.ENOSPC}
		}
		if full {
			return writeCursorFile(dir, seg, off, sync)
		}
		return &os.PathError{Op: "write", Path: cursorTmpFile, Err: syscall.ENOSPC}
	}

	// Room once segments 1 and 2 are deleted.
	recs, c := mustPeek(t, s, 7)
	checkRecords(t, recs, 0, 7)
	mustAck(t, s, c)
	if got, want := segmentFiles(t, dir), []uint64{3, 4, 5}; !equal(got, want) {
		t.Fatalf("segments after acking 7 = %v, want %v", got, want)
	}
	if seg, off, found, corrupt, err := readCursorFile(dir); err != nil || !found || corrupt || seg != c.seg || off != c.off || writes != 2 {
		t.Fatalf("cursor file %d:%d (found %t, corrupt %t, %v) after %d writes, want %v after 2", seg, off, found, corrupt, err, writes, c)
	}

	// No room at all: consumed anyway, and Peek goes on.
	full = false
	recs, c = mustPeek(t, s, 1)
	checkRecords(t, recs, 7, 8)
	mustAck(t, s, c)
	recs, _ = mustPeek(t, s, 10)
	checkRecords(t, recs, 8, 12)
	if s.Len() != 4 {
		t.Errorf("Len = %d, want 4", s.Len())
	}

	// A crash before the cursor is saved delivers record 7 again.
	s.crash(t, rand.New(rand.NewPCG(1, 2)))
	writeCursor = writeCursorFile
	s = mustOpen(t, dir, opts)
	checkRecords(t, mustDrain(t, s, 100), 7, 12)
}
