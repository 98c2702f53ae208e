package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzOpenCorrupt writes arbitrary bytes as a segment file, and as the
// cursor file when there are any, and checks that Open neither panics nor
// fails, that it keeps exactly a valid prefix of the segment, and that the
// spool works normally afterwards.
func FuzzOpenCorrupt(f *testing.F) {
	var valid []byte
	for _, r := range testRecords(0, 3) {
		valid, _ = appendFrame(valid, &r)
	}
	var cursor bytes.Buffer
	{
		dir := f.TempDir()
		if err := writeCursorFile(dir, 1, int64(len(valid)/3), false); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, cursorFile))
		cursor.Write(b)
	}
	f.Add([]byte{}, []byte{})
	f.Add(valid, []byte{})
	f.Add(valid, cursor.Bytes())
	f.Add(valid[:len(valid)-1], cursor.Bytes())
	f.Add(append(bytes.Clone(valid), "garbage"...), []byte{})
	f.Add(make([]byte, 64), []byte("garbage"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, []byte{})

	f.Fuzz(func(t *testing.T, seg, cur []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, segmentName(1))
		mustWriteFile(t, path, seg)
		if len(cur) > 0 {
			mustWriteFile(t, filepath.Join(dir, cursorFile), cur)
		}
		opts := Options{Sync: SyncNever}
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("Open() = %v", err)
		}
		defer s.Close()

		// What is left of the file is a prefix of what was written, and
		// Peek returns the records in it from the cursor on.
		kept := mustReadFile(t, path)
		if !bytes.HasPrefix(seg, kept) {
			t.Fatalf("segment after Open (%d bytes) is not a prefix of the segment before (%d bytes)", len(kept), len(seg))
		}
		n, size := s.Len(), s.Bytes()
		if size > int64(len(kept)) {
			t.Fatalf("Bytes() = %d, more than the %d bytes kept", size, len(kept))
		}
		recs, _, err := s.Peek(n + 1)
		if err != nil {
			t.Fatalf("Peek() = %v", err)
		}
		if len(recs) != n {
			t.Fatalf("Peek() returned %d records, Len() = %d", len(recs), n)
		}
		var framed int64
		for _, r := range recs {
			framed += frameSize(t, r)
		}
		if framed != size {
			t.Fatalf("Peek() returned %d framed bytes, Bytes() = %d", framed, size)
		}

		// Appending and reopening work, and keep everything.
		extra := testRecord(42)
		if err := s.Append(extra); err != nil {
			t.Fatalf("Append() = %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		s, err = Open(dir, opts)
		if err != nil {
			t.Fatalf("second Open() = %v", err)
		}
		defer s.Close()
		again, _, err := s.Peek(n + 2)
		if err != nil {
			t.Fatalf("Peek() after reopening = %v", err)
		}
		if want := append(recs, extra); !reflect.DeepEqual(again, want) {
			t.Fatalf("records after reopening = %d, want %d", len(again), len(want))
		}
	})
}

// FuzzParseRecord decodes arbitrary bytes as a payload, which is what a
// corrupt frame with a matching checksum would hand the decoder, and checks
// that it never panics, that validating agrees with decoding, and that
// whatever decodes survives encoding and decoding again. (The encoding is
// not canonical: a varint may have redundant bytes.)
func FuzzParseRecord(f *testing.F) {
	for _, r := range testRecords(0, 2) {
		b, _ := appendFrame(nil, &r)
		f.Add(b[frameHeaderSize:])
	}
	f.Add([]byte{recordVersion, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r Record
		err := parseRecord(payload, &r)
		if valid := parseRecord(payload, nil) == nil; valid != (err == nil) {
			t.Fatalf("parseRecord(%x, nil) valid = %v, parseRecord(%x, &r) = %v", payload, valid, payload, err)
		}
		if err != nil {
			return
		}
		frame, err := appendFrame(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		var again Record
		if err := parseRecord(frame[frameHeaderSize:], &again); err != nil {
			t.Fatalf("parseRecord(appendFrame(%+v)) = %v", r, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip of %x: %+v, want %+v", payload, again, r)
		}
	})
}
