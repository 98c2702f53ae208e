package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"zero", Record{}},
		{"topic only", Record{Topic: "ecrm.hits"}},
		{"null key, empty value", Record{Topic: "t", Value: []byte{}}},
		{"empty key, null value", Record{Topic: "t", Key: []byte{}}},
		{"key and value", Record{Topic: "t", Key: []byte("k"), Value: []byte(`{"a":1}`)}},
		{"binary", Record{Topic: "t", Key: []byte{0, 0, 0, 0}, Value: []byte{0xff, 0, 0x80}}},
		{"headers", Record{Topic: "t", Headers: []Header{
			{Key: "messageId", Value: []byte("m-1")},
			{Key: "null"},
			{Key: "empty", Value: []byte{}},
			{Key: "", Value: []byte("no name")},
		}}},
		{"unicode", Record{Topic: "ecrm.hits", Key: []byte("ü"), Value: []byte("日本語")}},
		{"large", Record{Topic: strings.Repeat("t", 300), Value: bytes.Repeat([]byte("v"), 1<<20)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := appendFrame([]byte("prefix"), &tc.rec)
			if err != nil {
				t.Fatalf("appendFrame() = %v", err)
			}
			frame = frame[len("prefix"):]
			got, n, err := readFrame(bufio.NewReader(bytes.NewReader(frame)), int64(len(frame)))
			if err != nil {
				t.Fatalf("readFrame() = %v", err)
			}
			if n != int64(len(frame)) {
				t.Errorf("readFrame() size = %d, want %d", n, len(frame))
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Errorf("readFrame() = %+v, want %+v", got, tc.rec)
			}
		})
	}
}

func TestRecordFieldsDoNotShareCapacity(t *testing.T) {
	r := Record{Topic: "t", Key: []byte("key"), Value: []byte("value")}
	frame, _ := appendFrame(nil, &r)
	got, _, err := readFrame(bufio.NewReader(bytes.NewReader(frame)), int64(len(frame)))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got.Key, "XXXXX"...)
	if string(got.Value) != "value" {
		t.Errorf("appending to Key changed Value to %q", got.Value)
	}
}

func TestParseRecordRejects(t *testing.T) {
	valid, _ := appendFrame(nil, &Record{Topic: "t", Key: []byte("k")})
	payload := valid[frameHeaderSize:]
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"wrong version", append([]byte{2}, payload[1:]...)},
		{"trailing byte", append(bytes.Clone(payload), 0)},
		{"truncated", payload[:len(payload)-1]},
		{"topic longer than payload", []byte{1, 100, 0, 0, 0}},
		{"header count too large", []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad uvarint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := parseRecord(tc.payload, nil); !errors.Is(err, errBadRecord) {
				t.Errorf("parseRecord(%x, nil) = %v, want %v", tc.payload, err, errBadRecord)
			}
			var r Record
			if err := parseRecord(tc.payload, &r); !errors.Is(err, errBadRecord) {
				t.Errorf("parseRecord(%x, &r) = %v, want %v", tc.payload, err, errBadRecord)
			}
		})
	}
}

func TestFrameOfZerosIsInvalid(t *testing.T) {
	var hdr [frameHeaderSize]byte
	if got := frameCRC(hdr[0:4], nil); got == binary.BigEndian.Uint32(hdr[4:8]) {
		t.Errorf("frameCRC(zeros) = %#x, a run of zeros would pass as a frame", got)
	}
}
