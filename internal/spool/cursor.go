package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// Cursor is a position in a Spool's sequence of records: the one just past the
// records a Peek returned. Pass it to Ack to consume them. The zero Cursor is
// the position before any record, and acknowledging it does nothing.
type Cursor struct {
	sp  *Spool
	seg uint64 // segment id of the next record
	off int64  // offset of the next record in that segment
	// idx and bytes are the records and framed bytes before this position
	// since the Spool was opened, which make Len and Bytes cheap to keep.
	idx   int64
	bytes int64
}

// String returns the cursor as "segment:offset", for logs.
func (c Cursor) String() string {
	return fmt.Sprintf("%d:%d", c.seg, c.off)
}

const (
	cursorFile    = "cursor"
	cursorTmpFile = "cursor.tmp"
	cursorMagic   = "ESC1"
	cursorSize    = 24 // magic, segment id, offset, CRC-32C of the first 20 bytes
)

// readCursorFile returns the position stored in dir's cursor file. found is
// false when there is no cursor file, and corrupt is true when there is one
// that does not hold a valid position (Open then starts from the oldest
// record, replaying rather than losing). An error means the file could not be
// read.
func readCursorFile(dir string) (seg uint64, off int64, found, corrupt bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, false, false, nil
	}
	if err != nil {
		return 0, 0, false, false, fmt.Errorf("read cursor: %w", err)
	}
	if len(b) != cursorSize || string(b[0:4]) != cursorMagic ||
		binary.BigEndian.Uint32(b[20:24]) != crc32.Checksum(b[0:20], castagnoli) {
		return 0, 0, true, true, nil
	}
	seg = binary.BigEndian.Uint64(b[4:12])
	u := binary.BigEndian.Uint64(b[12:20])
	if u > 1<<62 {
		return 0, 0, true, true, nil
	}
	return seg, int64(u), true, false, nil
}

// writeCursor is writeCursorFile; tests make it fail.
var writeCursor = writeCursorFile

// writeCursorFile replaces dir's cursor file with the position seg:off. The
// replacement is atomic: the new contents go to a temporary file that is
// renamed over the old one. With sync, the temporary file is fsynced before
// the rename and the directory after it, so the new cursor survives a crash
// once writeCursorFile returns.
func writeCursorFile(dir string, seg uint64, off int64, sync bool) error {
	var b [cursorSize]byte
	copy(b[0:4], cursorMagic)
	binary.BigEndian.PutUint64(b[4:12], seg)
	binary.BigEndian.PutUint64(b[12:20], uint64(off))
	binary.BigEndian.PutUint32(b[20:24], crc32.Checksum(b[0:20], castagnoli))

	tmp := filepath.Join(dir, cursorTmpFile)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, cursorFile))
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	return nil
}
