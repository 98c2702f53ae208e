package event

import (
	"fmt"
	"strconv"
	"time"
)

// JSONWriter appends JSON exactly as json.Marshal writes it, for the
// hand-written encoders of ecrm's records (AppendJSON here, the profile's
// in package profile): strings escaped alike, numbers formatted alike, map
// keys sorted. The first error (a NaN, a time outside the years 0 to 9999)
// sticks and stops further writes.
type JSONWriter struct {
	enc encoder
}

// NewJSONWriter returns a writer appending to dst.
func NewJSONWriter(dst []byte) *JSONWriter { return &JSONWriter{enc: encoder{buf: dst}} }

// Bytes returns what was written and the first error.
func (w *JSONWriter) Bytes() ([]byte, error) { return w.enc.buf, w.enc.err }

// Raw appends s as it is: punctuation and field names.
func (w *JSONWriter) Raw(s string) { w.enc.buf = append(w.enc.buf, s...) }

// RawBytes appends b as it is.
func (w *JSONWriter) RawBytes(b []byte) { w.enc.buf = append(w.enc.buf, b...) }

// String appends s as a JSON string.
func (w *JSONWriter) String(s string) { w.enc.buf = appendString(w.enc.buf, s) }

// Float appends f as json.Marshal writes a float64.
func (w *JSONWriter) Float(f float64) {
	if w.enc.err == nil {
		w.enc.float(f)
	}
}

// Int appends i.
func (w *JSONWriter) Int(i int64) { w.enc.buf = strconv.AppendInt(w.enc.buf, i, 10) }

// Time appends t as a JSON string, as time.Time's MarshalJSON does.
func (w *JSONWriter) Time(t time.Time) {
	if w.enc.err != nil {
		return
	}
	b, err := t.AppendText(append(w.enc.buf, '"'))
	if err != nil {
		w.enc.err = fmt.Errorf("encode: Time.MarshalJSON: %w", err)
		return
	}
	w.enc.buf = append(b, '"')
}

// Value appends v, a value JSON decodes to (others go to json.Marshal).
func (w *JSONWriter) Value(v any) { w.enc.value(v) }
