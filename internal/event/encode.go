package event

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the JSON encoding of e to dst and returns the result.
// The bytes are exactly those of json.Marshal(e): the same field order and
// omissions, map keys sorted, strings escaped for HTML with invalid UTF-8
// replaced, numbers formatted alike. It writes the values JSON decodes to
// (strings, float64, bool, nil, map[string]any, []any) without reflection
// and hands any other value to json.Marshal.
//
// It returns an error, and dst as it was, where json.Marshal fails: a NaN
// or infinite number, a time outside the years 0 to 9999, a value JSON
// cannot hold.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	n := len(dst)
	enc := encoder{buf: dst}
	enc.event(e)
	if enc.err != nil {
		return dst[:n], enc.err
	}
	return enc.buf, nil
}

// maxEncodeDepth is how deep AppendJSON nests maps and slices itself; past
// it json.Marshal takes over, which notices cycles.
const maxEncodeDepth = 256

// encoder appends JSON to buf; the first error stops it.
type encoder struct {
	buf   []byte
	err   error
	depth int
}

func (enc *encoder) event(e *Event) {
	b := append(enc.buf, `{"type":`...)
	b = appendString(b, e.Type)
	b = appendStringField(b, `,"event":`, e.Event)
	b = appendStringField(b, `,"name":`, e.Name)
	b = appendStringField(b, `,"messageId":`, e.MessageID)
	b = appendStringField(b, `,"anonymousId":`, e.AnonymousID)
	b = appendStringField(b, `,"userId":`, e.UserID)
	b = appendStringField(b, `,"previousId":`, e.PreviousID)
	b = appendStringField(b, `,"groupId":`, e.GroupID)
	enc.buf = b
	enc.timeField(`,"timestamp":`, e.Timestamp)
	enc.timeField(`,"sentAt":`, e.SentAt)
	enc.mapField(`,"properties":`, e.Properties)
	enc.mapField(`,"traits":`, e.Traits)
	enc.mapField(`,"context":`, e.Context)
	enc.timeField(`,"receivedAt":`, e.ReceivedAt)
	b = enc.buf
	b = appendStringField(b, `,"siteId":`, e.SiteID)
	b = appendStringField(b, `,"visitorId":`, e.VisitorID)
	b = appendStringField(b, `,"ip":`, e.IP)
	if e.UA != nil {
		b = append(b, `,"ua":{`...)
		mark := len(b)
		b = appendUAField(b, mark, `"browser":`, e.UA.Browser)
		b = appendUAField(b, mark, `"version":`, e.UA.Version)
		b = appendUAField(b, mark, `"os":`, e.UA.OS)
		b = appendUAField(b, mark, `"device":`, e.UA.Device)
		b = append(b, '}')
	}
	if e.Bot {
		b = append(b, `,"bot":true`...)
	}
	enc.buf = append(b, '}')
}

// appendStringField appends an omitempty string field: name (with its
// leading comma and trailing colon) and s, unless s is empty.
func appendStringField(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, name...), s)
}

// appendUAField appends an omitempty string field of the ua object, whose
// first field starts at mark.
func appendUAField(b []byte, mark int, name, s string) []byte {
	if s == "" {
		return b
	}
	if len(b) > mark {
		b = append(b, ',')
	}
	return appendString(append(b, name...), s)
}

// timeField appends an omitzero time field.
func (enc *encoder) timeField(name string, t time.Time) {
	if t.IsZero() || enc.err != nil {
		return
	}
	b := append(enc.buf, name...)
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		enc.err = fmt.Errorf("encode event: %w", err)
		return
	}
	enc.buf = append(b, '"')
}

// mapField appends an omitempty object field.
func (enc *encoder) mapField(name string, m map[string]any) {
	if len(m) == 0 || enc.err != nil {
		return
	}
	enc.buf = append(enc.buf, name...)
	enc.object(m)
}

// value appends v as json.Marshal would.
func (enc *encoder) value(v any) {
	if enc.err != nil {
		return
	}
	switch x := v.(type) {
	case nil:
		enc.buf = append(enc.buf, "null"...)
	case string:
		enc.buf = appendString(enc.buf, x)
	case float64:
		enc.float(x)
	case bool:
		enc.buf = strconv.AppendBool(enc.buf, x)
	case map[string]any:
		if x == nil {
			enc.buf = append(enc.buf, "null"...)
			return
		}
		enc.object(x)
	case []any:
		if x == nil {
			enc.buf = append(enc.buf, "null"...)
			return
		}
		enc.array(x)
	default:
		enc.marshal(v)
	}
}

// marshal appends what json.Marshal makes of v.
func (enc *encoder) marshal(v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		enc.err = fmt.Errorf("encode event: %w", err)
		return
	}
	enc.buf = append(enc.buf, raw...)
}

// keysPool holds slices for sorting a map's keys.
var keysPool = sync.Pool{New: func() any { return new([]string) }}

// object appends m, keys in order.
func (enc *encoder) object(m map[string]any) {
	if enc.depth >= maxEncodeDepth {
		enc.marshal(m)
		return
	}
	enc.depth++
	kp := keysPool.Get().(*[]string)
	keys := (*kp)[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	enc.buf = append(enc.buf, '{')
	for i, k := range keys {
		if i > 0 {
			enc.buf = append(enc.buf, ',')
		}
		enc.buf = appendString(enc.buf, k)
		enc.buf = append(enc.buf, ':')
		enc.value(m[k])
		if enc.err != nil {
			break
		}
	}
	enc.buf = append(enc.buf, '}')
	clear(keys)
	*kp = keys[:0]
	if cap(keys) <= 1024 {
		keysPool.Put(kp)
	}
	enc.depth--
}

// sortStrings sorts keys by byte, as json.Marshal sorts a map's keys:
// insertion sort for the few keys of a typical object.
func sortStrings(keys []string) {
	if len(keys) > 12 {
		slices.Sort(keys)
		return
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && strings.Compare(keys[j-1], keys[j]) > 0; j-- {
			keys[j-1], keys[j] = keys[j], keys[j-1]
		}
	}
}

// array appends s.
func (enc *encoder) array(s []any) {
	if enc.depth >= maxEncodeDepth {
		enc.marshal(s)
		return
	}
	enc.depth++
	enc.buf = append(enc.buf, '[')
	for i, v := range s {
		if i > 0 {
			enc.buf = append(enc.buf, ',')
		}
		enc.value(v)
		if enc.err != nil {
			break
		}
	}
	enc.buf = append(enc.buf, ']')
	enc.depth--
}

// float appends f as json.Marshal does: as JavaScript would print it,
// exponent form only for the very small and very large.
func (enc *encoder) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		enc.err = fmt.Errorf("encode event: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(enc.buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	enc.buf = b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes: quotes, backslashes and control characters; <, > and & for
// HTML; U+2028 and U+2029 for JavaScript; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// htmlSafe holds the ASCII bytes a JSON string holds as they are when
// escaped for HTML: printable ones but for ", \, <, > and &.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()
