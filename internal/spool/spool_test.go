package spool

import (
	"errors"
	"testing"
	"time"
)

// policies are the sync policies that tests run under.
var policies = []SyncPolicy{SyncInterval, SyncAlways, SyncNever}

func TestAppendPeekAck(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			s := mustOpen(t, t.TempDir(), Options{Sync: p})

			recs, c := mustPeek(t, s, 10)
			if len(recs) != 0 {
				t.Fatalf("Peek(10) on an empty spool = %d records, want 0", len(recs))
			}
			mustAck(t, s, c) // acknowledging nothing is fine

			mustAppend(t, s, testRecords(0, 3)...)
			mustAppend(t, s, testRecord(3))
			mustAppend(t, s, testRecords(4, 10)...)
			var want int64
			for _, r := range testRecords(0, 10) {
				want += frameSize(t, r)
			}
			if got := s.Len(); got != 10 {
				t.Errorf("Len() = %d, want 10", got)
			}
			if got := s.Bytes(); got != want {
				t.Errorf("Bytes() = %d, want %d", got, want)
			}

			// Peek does not consume: twice the same records.
			first, c1 := mustPeek(t, s, 4)
			checkRecords(t, first, 0, 4)
			again, c1b := mustPeek(t, s, 4)
			checkRecords(t, again, 0, 4)
			if c1 != c1b {
				t.Errorf("Peek cursors differ: %v, %v", c1, c1b)
			}
			mustAck(t, s, c1)
			if got := s.Len(); got != 6 {
				t.Errorf("Len() after Ack = %d, want 6", got)
			}
			mustAck(t, s, c1) // again: no effect

			rest, c2 := mustPeek(t, s, 100)
			checkRecords(t, rest, 4, 10)
			mustAck(t, s, c2)
			mustAck(t, s, c1) // older cursor: no effect
			if got, gotBytes := s.Len(), s.Bytes(); got != 0 || gotBytes != 0 {
				t.Errorf("Len(), Bytes() after acking all = %d, %d, want 0, 0", got, gotBytes)
			}
			if recs, _ := mustPeek(t, s, 10); len(recs) != 0 {
				t.Errorf("Peek() after acking all = %s, want nothing", seqs(recs))
			}
		})
	}
}

func TestPeekAndAckErrors(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	other := mustOpen(t, t.TempDir(), Options{})
	mustAppend(t, other, testRecord(0))
	_, foreign := mustPeek(t, other, 1)

	if _, _, err := s.Peek(0); err == nil {
		t.Errorf("Peek(0) = nil error, want one")
	}
	if err := s.Ack(foreign); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("Ack(cursor of another spool) = %v, want %v", err, ErrInvalidCursor)
	}
}

func TestReopen(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Sync: p}
			s := mustOpen(t, dir, opts)
			mustAppend(t, s, testRecords(0, 10)...)
			recs, c := mustPeek(t, s, 4)
			checkRecords(t, recs, 0, 4)
			mustAck(t, s, c)
			_, _ = mustPeek(t, s, 3) // peeked, not acknowledged: must come back
			bytes := s.Bytes()
			mustClose(t, s)

			s = mustOpen(t, dir, opts)
			if got := s.Len(); got != 6 {
				t.Errorf("Len() after reopen = %d, want 6", got)
			}
			if got := s.Bytes(); got != bytes {
				t.Errorf("Bytes() after reopen = %d, want %d", got, bytes)
			}
			mustAppend(t, s, testRecords(10, 13)...)
			recs, c = mustPeek(t, s, 2)
			checkRecords(t, recs, 4, 6)
			mustAck(t, s, c)
			mustClose(t, s)

			s = mustOpen(t, dir, opts)
			checkRecords(t, mustDrain(t, s, 3), 6, 13)
			mustClose(t, s)

			s = mustOpen(t, dir, opts)
			if got := s.Len(); got != 0 {
				t.Errorf("Len() after draining and reopening = %d, want 0", got)
			}
		})
	}
}

func TestFull(t *testing.T) {
	dir := t.TempDir()
	size := frameSize(t, testRecord(0)) // test records 0 to 9 are all this size
	opts := Options{MaxBytes: 5 * size, SegmentBytes: 2 * size}
	s := mustOpen(t, dir, opts)

	mustAppend(t, s, testRecords(0, 3)...)
	// Three more would pass the bound: none of them goes in.
	if err := s.Append(testRecords(3, 6)...); !errors.Is(err, ErrFull) {
		t.Fatalf("Append(3 records) at 3/5 = %v, want %v", err, ErrFull)
	}
	if got := s.Len(); got != 3 {
		t.Fatalf("Len() after a refused Append = %d, want 3", got)
	}
	mustAppend(t, s, testRecords(3, 5)...) // exactly at the bound
	if err := s.Append(testRecord(5)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append() at the bound = %v, want %v", err, ErrFull)
	}
	if err := s.Append(testRecords(0, 6)...); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append(more than MaxBytes) = %v, want %v", err, ErrTooLarge)
	}

	// Acknowledging frees space at once.
	recs, c := mustPeek(t, s, 2)
	checkRecords(t, recs, 0, 2)
	mustAck(t, s, c)
	mustAppend(t, s, testRecords(5, 7)...)
	if err := s.Append(testRecord(7)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append() at the bound after Ack = %v, want %v", err, ErrFull)
	}
	mustClose(t, s)

	// The bound holds across a restart.
	s = mustOpen(t, dir, opts)
	if err := s.Append(testRecord(7)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append() at the bound after reopening = %v, want %v", err, ErrFull)
	}
	checkRecords(t, mustDrain(t, s, 10), 2, 7)
	mustAppend(t, s, testRecords(7, 10)...)
}

func TestSegments(t *testing.T) {
	dir := t.TempDir()
	size := frameSize(t, testRecord(0))
	opts := Options{SegmentBytes: 3 * size}
	s := mustOpen(t, dir, opts)

	for i := range 10 {
		mustAppend(t, s, testRecord(i))
	}
	// A batch stays in one segment even when it passes SegmentBytes.
	mustAppend(t, s, testRecords(10, 14)...)
	if got, want := segmentFiles(t, dir), []uint64{1, 2, 3, 4, 5}; !equal(got, want) {
		t.Fatalf("segments after 14 appends = %v, want %v", got, want)
	}
	var batch int64
	for _, r := range testRecords(10, 14) {
		batch += frameSize(t, r)
	}
	if got := mustFileSize(t, dir, 5); got != batch {
		t.Errorf("size of the segment holding the batch = %d, want %d", got, batch)
	}

	// A cursor inside segment 3 deletes segments 1 and 2.
	recs, c := mustPeek(t, s, 7)
	checkRecords(t, recs, 0, 7)
	mustAck(t, s, c)
	if got, want := segmentFiles(t, dir), []uint64{3, 4, 5}; !equal(got, want) {
		t.Fatalf("segments after acking 7 = %v, want %v", got, want)
	}
	// A cursor at the end of segment 3 deletes it too.
	recs, c = mustPeek(t, s, 2)
	checkRecords(t, recs, 7, 9)
	mustAck(t, s, c)
	if got, want := segmentFiles(t, dir), []uint64{4, 5}; !equal(got, want) {
		t.Fatalf("segments after acking 9 = %v, want %v", got, want)
	}
	mustClose(t, s)

	s = mustOpen(t, dir, opts)
	checkRecords(t, mustDrain(t, s, 4), 9, 14)
	// The last segment stays, to be appended to.
	if got, want := segmentFiles(t, dir), []uint64{5}; !equal(got, want) {
		t.Fatalf("segments after draining = %v, want %v", got, want)
	}
	mustAppend(t, s, testRecord(14))
	if got, want := segmentFiles(t, dir), []uint64{5, 6}; !equal(got, want) {
		t.Fatalf("segments after one more append = %v, want %v", got, want)
	}
	recs, c = mustPeek(t, s, 10)
	checkRecords(t, recs, 14, 15)
	mustAck(t, s, c)
	if got, want := segmentFiles(t, dir), []uint64{6}; !equal(got, want) {
		t.Fatalf("segments after acking it = %v, want %v", got, want)
	}
	mustClose(t, s)

	// Segment ids keep growing after a restart with everything consumed.
	s = mustOpen(t, dir, opts)
	mustAppend(t, s, testRecords(15, 19)...)
	checkRecords(t, mustDrain(t, s, 100), 15, 19)
	if got := segmentFiles(t, dir); len(got) != 1 || got[0] < 6 {
		t.Fatalf("segments at the end = %v, want one, numbered 6 or more", got)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClosed(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	mustAppend(t, s, testRecord(0))
	_, c := mustPeek(t, s, 1)
	mustClose(t, s)

	if err := s.Append(testRecord(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append() after Close = %v, want %v", err, ErrClosed)
	}
	if err := s.Append(); !errors.Is(err, ErrClosed) {
		t.Errorf("Append() of nothing after Close = %v, want %v", err, ErrClosed)
	}
	if _, _, err := s.Peek(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Peek() after Close = %v, want %v", err, ErrClosed)
	}
	if err := s.Ack(c); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack() after Close = %v, want %v", err, ErrClosed)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close() = %v, want %v", err, ErrClosed)
	}
	select {
	case <-s.Notify():
	default:
		t.Errorf("Notify() after Close is not closed")
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len() after Close = %d, want 1", got)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if s2, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("second Open(%q) = %v, want %v", dir, err, ErrLocked)
	}
	mustClose(t, s)
	mustOpen(t, dir, Options{})
}

func TestNotify(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	ch := s.Notify()
	select {
	case <-ch:
		t.Fatal("Notify() on an empty spool is closed")
	default:
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		s.Append(testRecord(0))
	}()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify() not closed by Append")
	}
	select {
	case <-s.Notify():
	default:
		t.Fatal("Notify() with a record pending is not closed")
	}
	_, c := mustPeek(t, s, 1)
	mustAck(t, s, c)
	ch = s.Notify()
	select {
	case <-ch:
		t.Fatal("Notify() after draining is closed")
	default:
	}
	mustClose(t, s)
	select {
	case <-ch:
	default:
		t.Fatal("Notify() not closed by Close")
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"all set", Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 16, Sync: SyncAlways, SyncInterval: time.Second}, true},
		{"negative MaxBytes", Options{MaxBytes: -1}, false},
		{"negative SegmentBytes", Options{SegmentBytes: -1}, false},
		{"unknown policy", Options{Sync: SyncPolicy(7)}, false},
		{"negative SyncInterval", Options{SyncInterval: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate(%+v) = %v, want ok %v", tc.opts, err, tc.ok)
			}
			if !tc.ok {
				if _, err := Open(t.TempDir(), tc.opts); err == nil {
					t.Errorf("Open() with %+v = nil error, want one", tc.opts)
				}
			}
		})
	}
}

// PeekBytes stops before the record that would take it past maxBytes, but
// returns one record however large, and goes on across segments.
func TestPeekBytes(t *testing.T) {
	dir := t.TempDir()
	f := frameSize(t, testRecord(0)) // records 0 to 9 frame alike
	s := mustOpen(t, dir, Options{SegmentBytes: 4 * f})
	for _, r := range testRecords(0, 10) {
		mustAppend(t, s, r)
	}
	for _, tc := range []struct {
		maxBytes int64
		want     int
	}{{3 * f, 3}, {3*f - 1, 2}, {1, 1}, {0, 10}, {100 * f, 10}} {
		recs, _, err := s.PeekBytes(100, tc.maxBytes)
		if err != nil || len(recs) != tc.want {
			t.Errorf("PeekBytes(100, %d) = %d records, %v; want %d", tc.maxBytes, len(recs), err, tc.want)
		}
	}
	// Across segments (of 4 records), acknowledging as it goes.
	var got []Record
	for {
		recs, c, err := s.PeekBytes(100, 3*f)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		if len(recs) > 3 {
			t.Fatalf("%d records for 3 records' bytes", len(recs))
		}
		got = append(got, recs...)
		mustAck(t, s, c)
	}
	checkRecords(t, got, 0, 10)
}
