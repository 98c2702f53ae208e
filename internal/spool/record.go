package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Record is one Kafka record waiting in the spool. A nil Key or Value reads
// back as nil and an empty one as empty, because Kafka tells null from empty.
type Record struct {
	// Topic is the Kafka topic the record is for.
	Topic string
	// Key is the record's key; nil is Kafka's null key.
	Key []byte
	// Value is the record's value; nil is Kafka's null value (a tombstone).
	Value []byte
	// Headers are the record's headers, in order.
	Headers []Header
}

// Header is one Kafka record header.
type Header struct {
	// Key is the header's name.
	Key string
	// Value is the header's value; nil is a null value.
	Value []byte
}

const (
	// frameHeaderSize is the length and CRC that precede every payload.
	frameHeaderSize = 8
	// recordVersion is the first byte of every payload.
	recordVersion = 1
	// minPayload is the smallest valid payload: the version, an empty topic,
	// a null key, a null value and no headers.
	minPayload = 5
	// maxPayload bounds one encoded record, so that a corrupt length can never
	// ask for more memory than this, whatever the file size.
	maxPayload = 1<<30 - 1
)

// castagnoli is the CRC-32C table, hardware accelerated on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadRecord is returned by parseRecord for a payload that is not a valid
// encoding of a Record.
var errBadRecord = errors.New("malformed record")

// frameCRC returns the checksum stored in a frame: the CRC-32C of the 4-byte
// length followed by the payload. Covering the length means a run of zero
// bytes (a common torn-write artifact) is never a valid empty frame.
func frameCRC(lenField, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lenField, castagnoli), castagnoli, payload)
}

// appendFrame appends r, framed, to dst. It returns ErrTooLarge if the
// encoded record is larger than maxPayload.
func appendFrame(dst []byte, r *Record) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = append(dst, recordVersion)
	dst = appendString(dst, r.Topic)
	dst = appendNullable(dst, r.Key)
	dst = appendNullable(dst, r.Value)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = appendString(dst, h.Key)
		dst = appendNullable(dst, h.Value)
	}
	n := len(dst) - start - frameHeaderSize
	if n > maxPayload {
		return dst[:start], ErrTooLarge
	}
	hdr := dst[start : start+frameHeaderSize]
	binary.BigEndian.PutUint32(hdr[0:4], uint32(n))
	binary.BigEndian.PutUint32(hdr[4:8], frameCRC(hdr[0:4], dst[start+frameHeaderSize:]))
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendNullable writes len+1, or 0 for nil, then the bytes.
func appendNullable(dst, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

// parseRecord decodes payload into r. With r nil it only checks that payload
// is a valid encoding, without allocating. The byte slices of r alias
// payload.
func parseRecord(payload []byte, r *Record) error {
	d := decoder{b: payload}
	if v := d.byte(); v != recordVersion {
		return errBadRecord
	}
	topic := d.bytes()
	key, keyNull := d.nullable()
	value, valueNull := d.nullable()
	n := d.uvarint()
	// Every header takes at least two bytes, so a count beyond that is
	// corrupt; checking first keeps a bad count from allocating.
	if d.err || n > uint64(len(d.b)-d.off)/2 {
		return errBadRecord
	}
	if r != nil {
		*r = Record{Topic: string(topic)}
		if !keyNull {
			r.Key = key
		}
		if !valueNull {
			r.Value = value
		}
		if n > 0 {
			r.Headers = make([]Header, n)
		}
	}
	for i := range n {
		hk := d.bytes()
		hv, hvNull := d.nullable()
		if d.err {
			return errBadRecord
		}
		if r != nil {
			r.Headers[i].Key = string(hk)
			if !hvNull {
				r.Headers[i].Value = hv
			}
		}
	}
	if d.err || d.off != len(d.b) {
		return errBadRecord
	}
	return nil
}

// decoder reads the payload encoding; err sticks at the first problem.
type decoder struct {
	b   []byte
	off int
	err bool
}

func (d *decoder) byte() byte {
	if d.err || d.off >= len(d.b) {
		d.err = true
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.err = true
		return 0
	}
	d.off += n
	return v
}

// take returns the next n bytes, capacity-limited so that appending to one
// field can never overwrite the next.
func (d *decoder) take(n uint64) []byte {
	if d.err || n > uint64(len(d.b)-d.off) {
		d.err = true
		return nil
	}
	end := d.off + int(n)
	b := d.b[d.off:end:end]
	d.off = end
	return b
}

func (d *decoder) bytes() []byte {
	return d.take(d.uvarint())
}

// nullable reads what appendNullable wrote; null reports a nil slice.
func (d *decoder) nullable() (b []byte, null bool) {
	n := d.uvarint()
	if d.err || n == 0 {
		return nil, true
	}
	return d.take(n - 1), false
}
