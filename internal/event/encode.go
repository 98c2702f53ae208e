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
// and hands any other value to json.Marshal. The one difference: the
// properties, traits or context an event of DecodeBatchRaw holds as the
// client's text, which json.Marshal does not see, it writes as they are,
// keys in the client's order; they decode to what the maps would encode.
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
	enc.mapField(`,"properties":`, e.Properties, e.raw.properties)
	enc.mapField(`,"traits":`, e.Traits, e.raw.traits)
	enc.mapField(`,"context":`, e.Context, e.raw.context)
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

// mapField appends an omitempty object field: m, or the object's text
// (see rawText) as it is.
func (enc *encoder) mapField(name string, m map[string]any, text string) {
	if enc.err != nil {
		return
	}
	if len(m) == 0 {
		if nonEmpty(text) {
			enc.buf = append(append(enc.buf, name...), text...)
		}
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

// member is a key of an object and its value.
type member struct {
	key   string
	value any
}

// membersPool holds slices for sorting an object's members.
var membersPool = sync.Pool{New: func() any { return new([]member) }}

// object appends m, keys in order.
func (enc *encoder) object(m map[string]any) {
	if enc.depth >= maxEncodeDepth {
		enc.marshal(m)
		return
	}
	enc.depth++
	mp := membersPool.Get().(*[]member)
	members := (*mp)[:0]
	for k, v := range m {
		members = append(members, member{k, v})
	}
	sortMembers(members)
	enc.buf = append(enc.buf, '{')
	for i := range members {
		if i > 0 {
			enc.buf = append(enc.buf, ',')
		}
		enc.buf = appendString(enc.buf, members[i].key)
		enc.buf = append(enc.buf, ':')
		enc.value(members[i].value)
		if enc.err != nil {
			break
		}
	}
	enc.buf = append(enc.buf, '}')
	clear(members) // let the values go
	*mp = members[:0]
	if cap(members) <= 1024 {
		membersPool.Put(mp)
	}
	enc.depth--
}

// sortMembers sorts members by key, byte by byte, as json.Marshal sorts a
// map's keys: insertion sort for the few keys of a typical object.
func sortMembers(members []member) {
	if len(members) > 12 {
		slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(members); i++ {
		for j := i; j > 0 && members[j-1].key > members[j].key; j-- {
			members[j-1], members[j] = members[j], members[j-1]
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

// AppendString appends s as a JSON string, as json.Marshal writes it.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes: quotes, backslashes and control characters; <, > and & for
// HTML; U+2028 and U+2029 for JavaScript; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		i += plainRun(s[i:])
		if i == len(s) {
			break
		}
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
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

// plainRun returns the length of the plain prefix of s (see plain) in
// whole words of 8 bytes: it looks at 8 bytes at a time, the few cases that
// need a look left to the caller.
func plainRun(s string) int {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	n := 0
	for ; len(s) >= 8; s = s[8:] {
		x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		// A top bit of (v-n*ones)&^v is set where a byte of v is below n,
		// if any is (exact for whether, not for which): bytes of 0x80 and
		// up, below 0x20, and equal to ", \, <, > or & (v = x^c, below 1).
		special := x | (x-0x20*ones)&^x |
			(x^('"'*ones)-ones)&^(x^('"'*ones)) |
			(x^('\\'*ones)-ones)&^(x^('\\'*ones)) |
			(x^('<'*ones)-ones)&^(x^('<'*ones)) |
			(x^('>'*ones)-ones)&^(x^('>'*ones)) |
			(x^('&'*ones)-ones)&^(x^('&'*ones))
		if special&tops != 0 {
			break
		}
		n += 8
	}
	return n
}

// plain holds the bytes a JSON string escaped for HTML holds as they are:
// printable ASCII but for ", \, <, > and &. Other bytes need a look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()
