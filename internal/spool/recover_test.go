package spool

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logBuffer collects what a Spool logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// boundaries returns the offsets at which the records from..to-1 of the test
// sequence start in a segment holding exactly them, and its end.
func boundaries(tb testing.TB, from, to int) []int64 {
	tb.Helper()
	b := []int64{0}
	for _, r := range testRecords(from, to) {
		b = append(b, b[len(b)-1]+frameSize(tb, r))
	}
	return b
}

func mustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustWriteFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestTornTail(t *testing.T) {
	const n = 5
	b := boundaries(t, 0, n)
	last := b[n-1] // where the last record starts
	flip := func(at int64) func([]byte) []byte {
		return func(seg []byte) []byte { seg[at] ^= 0x40; return seg }
	}
	tests := []struct {
		name   string
		mangle func(seg []byte) []byte
		keep   int // records that survive
	}{
		{"intact", func(seg []byte) []byte { return seg }, n},
		{"cut in the last payload", func(seg []byte) []byte { return seg[:len(seg)-3] }, n - 1},
		{"cut in the last header", func(seg []byte) []byte { return seg[:last+5] }, n - 1},
		{"cut after one byte of the last record", func(seg []byte) []byte { return seg[:last+1] }, n - 1},
		{"cut at a boundary", func(seg []byte) []byte { return seg[:b[3]] }, 3},
		{"everything cut", func(seg []byte) []byte { return seg[:0] }, 0},
		{"garbage appended", func(seg []byte) []byte { return append(seg, "\x00\x00\x00\x20garbage that is not a frame"...) }, n},
		{"zeros appended", func(seg []byte) []byte { return append(seg, make([]byte, 4096)...) }, n},
		{"last record zeroed", func(seg []byte) []byte { clear(seg[last:]); return seg }, n - 1},
		{"half a frame appended", func(seg []byte) []byte { return append(seg, seg[:b[1]/2]...) }, n},
		{"last payload flipped", flip(b[n] - 2), n - 1},
		{"last checksum flipped", flip(last + 5), n - 1},
		{"last length huge", func(seg []byte) []byte {
			binary.BigEndian.PutUint32(seg[last:], 0xffffffff)
			return seg
		}, n - 1},
		{"last length short", func(seg []byte) []byte {
			binary.BigEndian.PutUint32(seg[last:], binary.BigEndian.Uint32(seg[last:])-1)
			return seg
		}, n - 1},
		// Corruption inside the segment loses what follows it: frames have
		// no resynchronisation marker, and a crash does not do this.
		{"third payload flipped", flip(b[3] - 1), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs logBuffer
			opts := Options{Logger: logs.logger()}
			s := mustOpen(t, dir, opts)
			mustAppend(t, s, testRecords(0, n)...)
			mustClose(t, s)

			path := filepath.Join(dir, segmentName(1))
			seg := tc.mangle(mustReadFile(t, path))
			mustWriteFile(t, path, seg)

			s = mustOpen(t, dir, opts)
			if got := s.Len(); got != tc.keep {
				t.Errorf("Len() after recovery = %d, want %d", got, tc.keep)
			}
			if got, want := s.Bytes(), b[tc.keep]; got != want {
				t.Errorf("Bytes() after recovery = %d, want %d", got, want)
			}
			if got, want := mustFileSize(t, dir, 1), b[tc.keep]; got != want {
				t.Errorf("segment size after recovery = %d, want %d", got, want)
			}
			if dropped := int64(len(seg)) > b[tc.keep]; dropped != strings.Contains(logs.String(), "dropped=") {
				t.Errorf("dropped bytes: %v, but the log says:\n%s", dropped, logs.String())
			}
			recs, _ := mustPeek(t, s, 100)
			checkRecords(t, recs, 0, tc.keep)

			// Appends go after the surviving records, and all of it
			// survives another restart.
			mustAppend(t, s, testRecords(tc.keep, n+2)...)
			mustClose(t, s)
			s = mustOpen(t, dir, opts)
			checkRecords(t, mustDrain(t, s, 3), 0, n+2)
		})
	}
}

func TestCorruptMiddleSegment(t *testing.T) {
	dir := t.TempDir()
	var logs logBuffer
	size := frameSize(t, testRecord(0))
	opts := Options{SegmentBytes: 2 * size, Logger: logs.logger()}
	s := mustOpen(t, dir, opts)
	for i := range 6 {
		mustAppend(t, s, testRecord(i))
	}
	mustClose(t, s)
	if got, want := segmentFiles(t, dir), []uint64{1, 2, 3}; !equal(got, want) {
		t.Fatalf("segments = %v, want %v", got, want)
	}

	// Corrupt the second record of segment 2 (record 3).
	path := filepath.Join(dir, segmentName(2))
	seg := mustReadFile(t, path)
	seg[len(seg)-1] ^= 1
	mustWriteFile(t, path, seg)

	s = mustOpen(t, dir, opts)
	got := mustDrain(t, s, 10)
	want := append(testRecords(0, 3), testRecords(4, 6)...)
	if seqs(got) != seqs(want) {
		t.Errorf("records after corrupting record 3 = %s, want %s", seqs(got), seqs(want))
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "segment=2") {
		t.Errorf("no warning about segment 2 in the log:\n%s", logs.String())
	}
}

func TestCursorRecovery(t *testing.T) {
	const n = 6
	b := boundaries(t, 0, n)
	tests := []struct {
		name    string
		cursor  func(dir string) // replaces the cursor file
		pending int              // records pending after Open
		warn    bool             // Open warns about the cursor
	}{
		{"as written", func(string) {}, n - 2, false},
		{"missing", func(dir string) { os.Remove(filepath.Join(dir, cursorFile)) }, n, false},
		{"garbage", func(dir string) { os.WriteFile(filepath.Join(dir, cursorFile), []byte("garbage"), 0o644) }, n, true},
		{"checksum wrong", func(dir string) {
			p := filepath.Join(dir, cursorFile)
			c, _ := os.ReadFile(p)
			c[10] ^= 1
			os.WriteFile(p, c, 0o644)
		}, n, true},
		{"inside a record", func(dir string) { writeCursorFile(dir, 1, b[3]+2, false) }, n - 3, true},
		{"past the end", func(dir string) { writeCursorFile(dir, 1, b[n]+100, false) }, 0, false},
		{"in a later segment", func(dir string) { writeCursorFile(dir, 9, 0, false) }, 0, false},
		{"in an earlier segment", func(dir string) { writeCursorFile(dir, 0, 40, false) }, n, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs logBuffer
			opts := Options{Logger: logs.logger()}
			s := mustOpen(t, dir, opts)
			mustAppend(t, s, testRecords(0, n)...)
			_, c := mustPeek(t, s, 2)
			mustAck(t, s, c)
			mustClose(t, s)
			tc.cursor(dir)

			s = mustOpen(t, dir, opts)
			if got := s.Len(); got != tc.pending {
				t.Errorf("Len() = %d, want %d", got, tc.pending)
			}
			if got := strings.Contains(logs.String(), "level=WARN"); got != tc.warn {
				t.Errorf("warned = %v, want %v; log:\n%s", got, tc.warn, logs.String())
			}
			recs, c := mustPeek(t, s, 100)
			checkRecords(t, recs, n-tc.pending, n)
			mustAck(t, s, c)
			// New records come after the cursor, whatever it was.
			mustAppend(t, s, testRecords(n, n+2)...)
			mustClose(t, s)
			s = mustOpen(t, dir, opts)
			checkRecords(t, mustDrain(t, s, 100), n, n+2)
		})
	}
}

func TestLeftoverFiles(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	mustAppend(t, s, testRecords(0, 3)...)
	mustClose(t, s)
	// A crash while writing the cursor leaves its temporary file; other
	// files are not the spool's business.
	for _, name := range []string{cursorTmpFile, "notes.txt", "1.seg", "0000000000000000000x.seg"} {
		mustWriteFile(t, filepath.Join(dir, name), []byte("x"))
	}
	s = mustOpen(t, dir, Options{})
	checkRecords(t, mustDrain(t, s, 10), 0, 3)
	if _, err := os.Stat(filepath.Join(dir, cursorTmpFile)); !os.IsNotExist(err) {
		t.Errorf("%s still there after Open: %v", cursorTmpFile, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("Open removed a file that is not the spool's: %v", err)
	}
}
