package event

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxFastDepth is how deeply the fast path nests objects and arrays inside
// a field before it leaves the body to encoding/json. Past MaxDepth an
// event is rejected whatever it holds, so this only bounds the recursion.
const maxFastDepth = 32

// decodeBatchFast decodes body in one pass, without reflection, to exactly
// the Batch that DecodeBatch's encoding/json path decodes it to: the same
// events, field values, context merging, acceptances and rejections.
//
// It answers only for bodies inside its subset and reports ok=false,
// having decided nothing, for any other: JSON that is not well formed or
// has whitespace other than JSON's around it; a field of the wrong type; a
// known field repeated, or a key that matches a field only
// case-insensitively or holds non-ASCII bytes; an event that is not an
// object; a "ua" that is not null; nesting deeper than maxFastDepth; a
// number out of the range of float64 or a timestamp that is not RFC 3339
// (where DecodeBatch returns or rejects with an error message of its own);
// no batch array, too many events, an event larger than MaxEventBytes in a
// body larger than that, or a batch context that is not an object within
// its limits. DecodeBatch then takes its usual path, so what it refuses and
// why is unchanged.
//
// Strings that need no unescaping share one copy of body.
func decodeBatchFast(body []byte) (b *Batch, ok bool) { return decodeFast(body, nil) }

// decodeFast is decodeBatchFast, and with a batch of batchPool to reuse
// DecodeBatchRaw's fast path: the same events, but properties, traits and
// context kept as text where they pass rawText's checks. It returns reuse
// filled in, or reports false having left its events to be cleared.
func decodeFast(body []byte, reuse *Batch) (b *Batch, ok bool) {
	raw := reuse != nil
	d := fastDecoder{data: body, raw: raw}
	if d.peek() != '{' {
		return nil, false
	}
	if raw {
		// DecodeBatchRaw's batch shares body.
		d.s = unsafe.String(unsafe.SliceData(body), len(body))
	} else {
		d.s = string(body)
	}
	var (
		writeKey  string
		sentAt    time.Time
		events    []Event
		haveBatch bool
		bctx      map[string]any
		seen      uint8
	)
	if raw {
		events = reuse.events[:0]
	}
	d.pos++
	if d.peek() == '}' {
		return nil, false // no batch
	}
	for {
		key, ok := d.key()
		if !ok {
			return nil, false
		}
		var bit uint8
		switch key {
		case "writeKey":
			bit, ok = 1<<0, d.stringField(&writeKey)
		case "sentAt":
			bit, ok = 1<<1, d.timeField(&sentAt)
		case "batch":
			bit = 1 << 2
			events, ok = d.batch(events)
			if raw && cap(events) > 0 {
				reuse.events = events // filled in, to be cleared
			}
			haveBatch = true
		case "context":
			bit = 1 << 3
			switch d.peek() {
			case '{':
				start := d.pos
				bctx, ok = d.object()
				ok = ok && d.pos-start <= MaxBatchContextBytes
			case 'n':
				ok = d.literal("null")
			default:
				ok = false
			}
		default:
			ok = !foldsToField(key, envelopeFields[:]) && d.skip()
		}
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		if !d.next('}') {
			break
		}
	}
	if d.failed || d.peek() != 0 || d.pos != len(d.data) || !haveBatch {
		return nil, false
	}
	if bctx != nil && checkValue(bctx, 1) != nil {
		return nil, false
	}
	if raw {
		b = reuse
		b.WriteKey, b.SentAt = writeKey, sentAt
	} else {
		b = &Batch{WriteKey: writeKey, SentAt: sentAt}
	}
	for i := range events {
		e := &events[i]
		err := e.prepare(bctx)
		if err == nil && b.Events == nil {
			// Room for the rest, if they are all accepted; none is made
			// when none is, as add leaves Events and Index nil then.
			if n := len(events) - i; cap(b.spareEvents) >= n && cap(b.spareIndex) >= n {
				b.Events, b.Index = b.spareEvents[:0], b.spareIndex[:0]
			} else {
				b.Events, b.Index = make([]*Event, 0, n), make([]int, 0, n)
			}
		}
		b.add(i, e, err)
	}
	return b, true
}

// envelopeFields and eventFields name the fields encoding/json matches
// keys to in a batch and an event.
var (
	envelopeFields = [...]string{"writeKey", "sentAt", "batch", "context"}
	singleFields   = [...]string{"writeKey"} // besides eventFields
	eventFields    = [...]string{
		"type", "event", "name", "messageId", "anonymousId", "userId", "previousId", "groupId",
		"timestamp", "sentAt", "properties", "traits", "context",
		"receivedAt", "siteId", "visitorId", "ip", "ua", "bot",
	}
)

// foldsToField reports whether encoding/json might match key, which
// matches none of fields exactly, to one of them: case-insensitively, or
// by Unicode folding when key is not all ASCII.
func foldsToField(key string, fields []string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(key, f) {
			return true
		}
	}
	return false
}

// fastDecoder scans JSON in data from pos. Its methods report failure by
// returning false; it never reads past data.
type fastDecoder struct {
	data []byte
	// s is data as a string, of which strings without escapes are slices.
	s     string
	pos   int
	depth int
	// failed is set when a loop ends on a byte it did not expect.
	failed bool
	// buf is scratch space for unescaping strings.
	buf []byte
	// stored: the event is one the collector enriched (Unmarshal), whose
	// server fields are read rather than checked and whose strings are
	// copies, so that what a profile keeps does not pin the record.
	stored bool
	// raw: an event's properties, traits and context are kept as text
	// where they can be (DecodeBatchRaw); dirty is set when the text read
	// cannot be, badUTF8 when scanString met bytes that are not UTF-8.
	raw, dirty, badUTF8 bool
	// writeKey, when set, takes an event's "writeKey" member: the body of
	// a single-event endpoint (DecodeSingleRaw). Otherwise the member is
	// skipped, as in a batch's events.
	writeKey *string
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (d *fastDecoder) peek() byte {
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; c {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return c
		}
	}
	return 0
}

// next consumes the byte after a member of an object or an element of an
// array: it reports true for a comma, false for end, which closes it, and
// false with failed set for anything else.
func (d *fastDecoder) next(end byte) bool {
	switch d.peek() {
	case ',':
		d.pos++
		return true
	case end:
		d.pos++
		return false
	}
	d.failed = true
	return false
}

// key reads an object's key and the colon after it.
func (d *fastDecoder) key() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	// A view of data even for a stored event: object copies the keys it
	// keeps.
	stored := d.stored
	d.stored = false
	k, ok := d.str()
	d.stored = stored
	if !ok || d.peek() != ':' {
		return "", false
	}
	d.pos++
	return k, true
}

// batch reads the array of events of a batch, appending them to events,
// which is empty.
func (d *fastDecoder) batch(events []Event) ([]Event, bool) {
	if d.peek() != '[' {
		return nil, false
	}
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return events, true
	}
	for {
		if d.peek() != '{' || len(events) == MaxBatchEvents {
			return nil, false
		}
		events = append(events, Event{})
		start := d.pos
		if !d.event(&events[len(events)-1]) {
			return nil, false
		}
		// A body this large is decoded event by event, and a large
		// event rejected.
		if len(d.data) > MaxEventBytes && d.pos-start > MaxEventBytes {
			return nil, false
		}
		if !d.next(']') {
			break
		}
	}
	return events, !d.failed
}

// event reads an event object into e.
func (d *fastDecoder) event(e *Event) bool {
	d.pos++ // {
	if d.peek() == '}' {
		d.pos++
		return true
	}
	var (
		seen   uint32
		ignore struct {
			t time.Time
			s string
		}
	)
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		var bit uint32
		switch key {
		case "type":
			bit, ok = 1<<0, d.stringField(&e.Type)
		case "event":
			bit, ok = 1<<1, d.stringField(&e.Event)
		case "name":
			bit, ok = 1<<2, d.stringField(&e.Name)
		case "messageId":
			bit, ok = 1<<3, d.stringField(&e.MessageID)
		case "anonymousId":
			bit, ok = 1<<4, d.stringField(&e.AnonymousID)
		case "userId":
			bit, ok = 1<<5, d.stringField(&e.UserID)
		case "previousId":
			bit, ok = 1<<6, d.stringField(&e.PreviousID)
		case "groupId":
			bit, ok = 1<<7, d.stringField(&e.GroupID)
		case "timestamp":
			bit, ok = 1<<8, d.timeField(&e.Timestamp)
		case "sentAt":
			bit, ok = 1<<9, d.timeField(&e.SentAt)
		case "properties":
			bit = 1 << 10
			if d.raw {
				ok = d.rawField(&e.raw.properties, &e.Properties, nil)
			} else {
				ok = d.mapField(&e.Properties)
			}
		case "traits":
			bit = 1 << 11
			if d.raw {
				ok = d.rawField(&e.raw.traits, &e.Traits, nil)
			} else {
				ok = d.mapField(&e.Traits)
			}
		case "context":
			bit = 1 << 12
			if d.raw {
				ok = d.rawField(&e.raw.context, &e.Context, &e.raw)
			} else {
				ok = d.mapField(&e.Context)
			}
		// Fields only the collector sets: prepare clears them, but a
		// value of the wrong type still fails the decoding. A stored
		// event keeps them.
		case "receivedAt":
			bit, ok = 1<<13, d.timeField(d.server(&e.ReceivedAt, &ignore.t))
		case "siteId":
			bit, ok = 1<<14, d.stringField(d.serverStr(&e.SiteID, &ignore.s))
		case "visitorId":
			bit, ok = 1<<15, d.stringField(d.serverStr(&e.VisitorID, &ignore.s))
		case "ip":
			bit, ok = 1<<16, d.stringField(d.serverStr(&e.IP, &ignore.s))
		case "bot":
			bit = 1 << 17
			switch d.peek() {
			case 't':
				ok = d.literal("true")
				if ok && d.stored {
					e.Bot = true
				}
			case 'f':
				ok = d.literal("false")
				if ok && d.stored {
					e.Bot = false
				}
			case 'n':
				ok = d.literal("null")
			default:
				ok = false
			}
		case "ua":
			bit = 1 << 18
			switch {
			case d.peek() == 'n':
				ok = d.literal("null")
			case d.stored && d.peek() == '{':
				ok = d.ua(e)
			default:
				ok = false
			}
		case "writeKey":
			if d.writeKey == nil {
				ok = d.skip()
			} else {
				bit, ok = 1<<19, d.stringField(d.writeKey)
			}
		default:
			ok = !foldsToField(key, eventFields[:]) && (d.writeKey == nil || !foldsToField(key, singleFields[:])) && d.skip()
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if !d.next('}') {
			return !d.failed
		}
	}
}

// stringField reads a string, or null, which leaves *p as it is.
func (d *fastDecoder) stringField(p *string) bool {
	switch d.peek() {
	case '"':
		s, ok := d.str()
		*p = s
		return ok
	case 'n':
		return d.literal("null")
	}
	return false
}

// timeField reads a time as time.Time.UnmarshalJSON does, from the string
// as it is, escapes and all; null leaves *p as it is.
func (d *fastDecoder) timeField(p *time.Time) bool {
	switch d.peek() {
	case '"':
		start := d.pos
		if _, _, ok := d.scanString(); !ok {
			return false
		}
		return p.UnmarshalJSON(d.data[start:d.pos]) == nil
	case 'n':
		return d.literal("null")
	}
	return false
}

// mapField reads an object, or null, which makes *p nil.
func (d *fastDecoder) mapField(p *map[string]any) bool {
	switch d.peek() {
	case '{':
		m, ok := d.object()
		*p = m
		return ok
	case 'n':
		*p = nil
		return d.literal("null")
	}
	return false
}

// value reads any JSON value as encoding/json decodes it into an any:
// map[string]any, []any, string, float64, bool or nil.
func (d *fastDecoder) value() (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		start := d.pos
		if !d.scanNumber() {
			return nil, false
		}
		f, err := strconv.ParseFloat(d.s[start:d.pos], 64)
		return f, err == nil
	}
	return nil, false
}

// object reads an object, whose { is at pos, into a map.
func (d *fastDecoder) object() (map[string]any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	d.pos++
	m := make(map[string]any)
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return m, true
	}
	for {
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		if d.stored {
			k = strings.Clone(k)
		}
		m[k] = v
		if !d.next('}') {
			break
		}
	}
	d.depth--
	return m, !d.failed
}

// array reads an array, whose [ is at pos, into a slice, empty but not
// nil when the array is.
func (d *fastDecoder) array() ([]any, bool) {
	if d.depth++; d.depth > maxFastDepth {
		return nil, false
	}
	d.pos++
	a := make([]any, 0)
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return a, true
	}
	for {
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if !d.next(']') {
			break
		}
	}
	d.depth--
	return a, !d.failed
}

// skip reads past any JSON value, checking it as encoding/json does a
// field it ignores: syntax only, numbers of any size.
func (d *fastDecoder) skip() bool {
	switch c := d.peek(); {
	case c == '"':
		_, _, ok := d.scanString()
		return ok
	case c == '{', c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if d.depth++; d.depth > maxFastDepth {
			return false
		}
		d.pos++
		if d.peek() == end {
			d.pos++
			d.depth--
			return true
		}
		for {
			if c == '{' {
				if d.peek() != '"' {
					return false
				}
				if _, _, ok := d.scanString(); !ok || d.peek() != ':' {
					return false
				}
				d.pos++
			}
			if !d.skip() {
				return false
			}
			if !d.next(end) {
				break
			}
		}
		d.depth--
		return !d.failed
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.scanNumber()
	}
	return false
}

// literal reads lit, true, false or null.
func (d *fastDecoder) literal(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

// scanNumber reads past a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) scanNumber() bool {
	data, i := d.data, d.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i)
	default:
		return false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return false
		}
		i = j
	}
	d.pos = i
	return true
}

// digits returns the index of the first byte from i on that is not a
// decimal digit.
func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// str reads a string, whose opening quote is at pos, and returns it
// decoded: a slice of s when it holds no escapes and is valid UTF-8.
func (d *fastDecoder) str() (string, bool) {
	start, clean, ok := d.scanString()
	if !ok {
		return "", false
	}
	if clean {
		if d.stored {
			return string(d.data[start : d.pos-1]), true
		}
		return d.s[start : d.pos-1], true
	}
	return d.unescape(d.data[start : d.pos-1]), true
}

// strPlain holds the bytes a string holds as they are: ASCII but for
// control characters, the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainBytes returns the length of a prefix of s that strPlain holds
// every byte of, in whole words of 8 bytes: it looks at 8 bytes at a time,
// the rest left to the caller.
func plainBytes(s []byte) int {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	n := 0
	for ; len(s) >= 8; s = s[8:] {
		x := binary.LittleEndian.Uint64(s)
		// A top bit of (v-ones)&^v is set where a byte of v is 0, if any
		// is (exact for whether): bytes of 0x80 and up, below 0x20, and
		// equal to " or \.
		q, b := x^('"'*ones), x^('\\'*ones)
		if (x|(x-0x20*ones)&^x|(q-ones)&^q|(b-ones)&^b)&tops != 0 {
			break
		}
		n += 8
	}
	return n
}

// scanString reads past a string, whose opening quote is at pos, checking
// it as JSON's grammar does: no control characters, only valid escapes.
// It returns where its contents start and whether they are clean, the
// string itself: no escapes and valid UTF-8.
func (d *fastDecoder) scanString() (start int, clean, ok bool) {
	data := d.data
	start = d.pos + 1
	clean = true
	for i := start; i < len(data); {
		i += plainBytes(data[i:])
		for i < len(data) && strPlain[data[i]] {
			i++
		}
		if i == len(data) {
			break
		}
		switch c := data[i]; {
		case c == '"':
			d.pos = i + 1
			return start, clean, true
		case c == '\\':
			clean = false
			if i+1 == len(data) {
				return start, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if getu4(data[i:]) < 0 {
					return start, false, false
				}
				i += 6
			default:
				return start, false, false
			}
		case c < 0x20:
			return start, false, false
		default: // c >= utf8.RuneSelf
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				clean = false
				d.badUTF8 = true
			}
			i += size
		}
	}
	return start, false, false
}

// unescape decodes the contents s of a string that scanString read, as
// encoding/json does: escapes decoded, a \u escape of half a surrogate
// pair that is not followed by the other half and bytes that are not UTF-8
// replaced by U+FFFD.
func (d *fastDecoder) unescape(s []byte) string {
	b := d.buf[:0]
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // " \ /
				b = append(b, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	d.buf = b
	return string(b)
}

// getu4 decodes \uXXXX from the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// server returns where a field only the collector sets goes: the event's
// own for a stored event, else a place that is thrown away.
func (d *fastDecoder) server(own, ignore *time.Time) *time.Time {
	if d.stored {
		return own
	}
	return ignore
}

func (d *fastDecoder) serverStr(own, ignore *string) *string {
	if d.stored {
		return own
	}
	return ignore
}

// uaFields are UA's JSON fields, for the case-insensitive check.
var uaFields = [...]string{"browser", "version", "os", "device"}

// ua reads the collector's parsed user agent of a stored event. As
// encoding/json does, it decodes into the UA already there, if any.
func (d *fastDecoder) ua(e *Event) bool {
	if e.UA == nil {
		e.UA = new(UA)
	}
	d.pos++ // {
	if d.peek() == '}' {
		d.pos++
		return true
	}
	var seen uint8
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		var bit uint8
		switch key {
		case "browser":
			bit, ok = 1<<0, d.stringField(&e.UA.Browser)
		case "version":
			bit, ok = 1<<1, d.stringField(&e.UA.Version)
		case "os":
			bit, ok = 1<<2, d.stringField(&e.UA.OS)
		case "device":
			bit, ok = 1<<3, d.stringField(&e.UA.Device)
		default:
			ok = !foldsToField(key, uaFields[:]) && d.skip()
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if !d.next('}') {
			return !d.failed
		}
	}
}

// Unmarshal decodes one event as the collector wrote it to the hits topic
// (AppendJSON's output), server fields included, to exactly what
// encoding/json decodes it to, several times faster: without reflection,
// in one pass. What is outside the fast decoder's subset (see
// decodeBatchFast) goes to encoding/json, whose answer it returns. e is
// overwritten, not merged into.
func Unmarshal(data []byte, e *Event) error {
	d := fastDecoder{data: data, stored: true}
	if d.peek() == '{' {
		// A view of data, not a copy: in stored mode no string the
		// decoder returns shares d.s (str copies, object clones its keys;
		// keys of the event and numbers are only looked at).
		d.s = unsafe.String(unsafe.SliceData(data), len(data))
		var fast Event
		if d.event(&fast) && !d.failed && d.peek() == 0 && d.pos == len(data) {
			*e = fast
			return nil
		}
	}
	*e = Event{}
	return json.Unmarshal(data, e)
}
