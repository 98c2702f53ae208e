package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

const (
	segmentSuffix = ".seg"
	// segmentIDDigits is the width of the zero-padded id in a segment's file
	// name, so that names sort like ids.
	segmentIDDigits = 20
)

// segment is what a Spool knows of one segment file.
type segment struct {
	id   uint64
	size int64 // bytes of valid frames; the next frame starts here
}

func segmentName(id uint64) string {
	return fmt.Sprintf("%0*d%s", segmentIDDigits, id, segmentSuffix)
}

// parseSegmentName returns the id in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != segmentIDDigits {
		return 0, false
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || id == 0 {
		return 0, false
	}
	return id, true
}

// listSegments returns the ids of the segment files in dir, in order.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, e := range entries {
		if id, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// scanResult is what scanSegment learned about a segment file.
type scanResult struct {
	end       int64 // offset just past the last valid frame
	snap      int64 // the last frame boundary at or before the from offset
	pendRecs  int64 // frames that start at or after snap
	pendBytes int64 // their framed size
}

// scanSegment reads the frames of a segment file of the given size from its
// start and stops at the end or at the first frame that is torn or corrupt.
// It also finds the frame boundary at or before from, and counts the frames
// after it. An error means the file could not be read, not that it is
// corrupt.
func scanSegment(f *os.File, size, from int64) (scanResult, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10)
	var (
		res     scanResult
		hdr     [frameHeaderSize]byte
		payload []byte
		off     int64
	)
	for {
		if off <= from {
			res.snap, res.pendRecs, res.pendBytes = off, 0, 0
		}
		if size-off < frameHeaderSize {
			break
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return res, err
		}
		n := int64(binary.BigEndian.Uint32(hdr[0:4]))
		if n < minPayload || n > maxPayload || n > size-off-frameHeaderSize {
			break
		}
		if int64(cap(payload)) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			return res, err
		}
		if binary.BigEndian.Uint32(hdr[4:8]) != frameCRC(hdr[0:4], payload) ||
			parseRecord(payload, nil) != nil {
			break
		}
		off += frameHeaderSize + n
		res.pendRecs++
		res.pendBytes += frameHeaderSize + n
	}
	res.end = off
	return res, nil
}

// readFrame reads the frame at the start of br into a new payload and returns
// the record and the frame's size. It is used on frames that scanSegment or
// Append already checked, so a failure means the data changed on disk.
func readFrame(br *bufio.Reader, limit int64) (Record, int64, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return Record{}, 0, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[0:4]))
	if n < minPayload || n > maxPayload || n > limit-frameHeaderSize {
		return Record{}, 0, ErrCorrupt
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return Record{}, 0, err
	}
	if binary.BigEndian.Uint32(hdr[4:8]) != frameCRC(hdr[0:4], payload) {
		return Record{}, 0, ErrCorrupt
	}
	var r Record
	if err := parseRecord(payload, &r); err != nil {
		return Record{}, 0, ErrCorrupt
	}
	return r, frameHeaderSize + n, nil
}

// syncDir fsyncs a directory, so that files created, renamed or removed in it
// survive a crash. Windows cannot open a directory for that and journals
// its metadata anyway, so it is skipped there.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func segmentPath(dir string, id uint64) string {
	return filepath.Join(dir, segmentName(id))
}
