package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// mustOpen opens a Spool on dir and closes it when the test ends, unless the
// test closed it already.
func mustOpen(tb testing.TB, dir string, opts Options) *Spool {
	tb.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			tb.Errorf("Close() = %v", err)
		}
	})
	return s
}

func mustClose(tb testing.TB, s *Spool) {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatalf("Close() = %v", err)
	}
}

func mustAppend(tb testing.TB, s *Spool, recs ...Record) {
	tb.Helper()
	if err := s.Append(recs...); err != nil {
		tb.Fatalf("Append(%d records) = %v", len(recs), err)
	}
}

func mustPeek(tb testing.TB, s *Spool, max int) ([]Record, Cursor) {
	tb.Helper()
	recs, c, err := s.Peek(max)
	if err != nil {
		tb.Fatalf("Peek(%d) = %v", max, err)
	}
	return recs, c
}

func mustAck(tb testing.TB, s *Spool, c Cursor) {
	tb.Helper()
	if err := s.Ack(c); err != nil {
		tb.Fatalf("Ack(%v) = %v", c, err)
	}
}

// mustDrain peeks and acknowledges every pending record, in batches of
// batch, and returns them.
func mustDrain(tb testing.TB, s *Spool, batch int) []Record {
	tb.Helper()
	var all []Record
	for {
		recs, c := mustPeek(tb, s, batch)
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
		mustAck(tb, s, c)
	}
}

// testRecord returns the i-th record of a test sequence.
func testRecord(i int) Record {
	return Record{
		Topic: "ecrm.hits",
		Key:   fmt.Appendf(nil, "visitor-%d", i%7),
		Value: fmt.Appendf(nil, `{"messageId":"m-%d","type":"page"}`, i),
		Headers: []Header{
			{Key: "seq", Value: fmt.Appendf(nil, "%d", i)},
		},
	}
}

func testRecords(from, to int) []Record {
	var recs []Record
	for i := from; i < to; i++ {
		recs = append(recs, testRecord(i))
	}
	return recs
}

// checkRecords fails the test unless got equals the records from..to-1 of the
// test sequence.
func checkRecords(tb testing.TB, got []Record, from, to int) {
	tb.Helper()
	want := testRecords(from, to)
	if len(got) != len(want) {
		tb.Fatalf("got %d records (%s), want %d (%d..%d)", len(got), seqs(got), len(want), from, to-1)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			tb.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// seqs summarises records of the test sequence by their seq header.
func seqs(recs []Record) string {
	var s []string
	for _, r := range recs {
		if len(r.Headers) > 0 {
			s = append(s, string(r.Headers[0].Value))
		}
	}
	return fmt.Sprint(s)
}

// frameSize is the bytes a record takes on disk.
func frameSize(tb testing.TB, r Record) int64 {
	tb.Helper()
	b, err := appendFrame(nil, &r)
	if err != nil {
		tb.Fatalf("appendFrame() = %v", err)
	}
	return int64(len(b))
}

// segmentFiles returns the ids of the segment files in dir.
func segmentFiles(tb testing.TB, dir string) []uint64 {
	tb.Helper()
	ids, err := listSegments(dir)
	if err != nil {
		tb.Fatalf("listSegments(%q) = %v", dir, err)
	}
	return ids
}

// mustFileSize returns the size of dir's segment id.
func mustFileSize(tb testing.TB, dir string, id uint64) int64 {
	tb.Helper()
	fi, err := os.Stat(filepath.Join(dir, segmentName(id)))
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}
