package event

import (
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// rawText holds an event's properties, traits and context as the JSON
// text the client sent, where that text is already what the hits topic
// may carry: an object, compact (no whitespace outside strings), its
// strings valid UTF-8 (escapes are kept as they are), its objects and
// arrays nested at most MaxDepth levels (the object itself the first) and
// its numbers within float64's range. Keys keep the client's order, and a
// repeated key stays repeated (decoders keep the last, as the map did).
// Text decodes to exactly the map DecodeBatch decodes it to.
//
// A field's text is "" when the field is absent, null, or held in its map
// (text the decoder does not pass through: whitespace, bytes that are not
// UTF-8, nesting too deep, which Validate then rejects).
type rawText struct {
	properties, traits, context string
	// Of context's members (decoded keys): whether one is named ip, and
	// where the last userAgent's and consent's values are in context
	// (end 0: none).
	ctxIP             bool
	ctxUA, ctxConsent [2]int32
}

// nonEmpty reports whether text holds an object with members: the empty
// object is written compact.
func nonEmpty(text string) bool { return text != "" && text != "{}" }

// DecodeBatchRaw is DecodeBatch for the collector's intake: it accepts and
// rejects the same events for the same reasons, but keeps each event's
// properties, traits and context, where they pass its checks (see
// rawText), as the JSON text the client sent rather than as maps, which
// AppendJSON writes as it is. DecodeRaw, ContextMap and ContextValue turn
// the text into what DecodeBatch would have decoded it to.
//
// The batch's strings and text share body's memory, uncopied: body must
// not change while the batch, its events or any string of theirs is in use.
// (The collector's handler copies what it keeps, the records it publishes,
// before fasthttp reuses the request's buffer.)
//
// Release gives the batch's memory back for reuse once the caller is done
// with it.
func DecodeBatchRaw(body []byte) (*Batch, error) {
	reuse := batchPool.Get().(*Batch)
	reuse.pooled = true
	if b, ok := decodeFast(body, reuse); ok {
		return b, nil
	}
	reuse.Release()
	return decodeBatchSlow(body)
}

// DecodeSingleRaw is DecodeSingle for the collector's intake, as
// DecodeBatchRaw is DecodeBatch's: the same event, write key and error for
// every body, but the event keeps its properties, traits and context as
// the client's text where they pass rawText's checks, and shares body's
// memory: body must not change while the event or a string of it is in
// use. A body the fast reader does not take whole goes to DecodeSingle.
func DecodeSingleRaw(body []byte, typ string) (*Event, string, error) {
	var key string
	d := fastDecoder{data: body, raw: true, writeKey: &key}
	if d.peek() == '{' {
		d.s = unsafe.String(unsafe.SliceData(body), len(body))
		e := new(Event)
		if d.event(e) && !d.failed && d.peek() == 0 && d.pos == len(d.data) {
			if err := e.prepareSingle(len(body), typ); err != nil {
				return nil, key, err
			}
			return e, key, nil
		}
	}
	return DecodeSingle(body, typ)
}

// batchPool holds batches of DecodeBatchRaw for reuse, their events'
// array empty.
var batchPool = sync.Pool{New: func() any { return new(Batch) }}

// Release gives a batch of DecodeBatchRaw back for reuse: neither the
// batch nor its events may be used after. Releasing it again, or another
// batch, does nothing.
func (b *Batch) Release() {
	if !b.pooled {
		return
	}
	events := b.events[:cap(b.events)]
	clear(events) // let the body and maps go
	spareEvents, spareIndex := b.spareEvents, b.spareIndex
	if cap(b.Events) > 0 && cap(b.Index) > 0 {
		spareEvents, spareIndex = b.Events[:0], b.Index[:0]
		clear(spareEvents[:cap(spareEvents)])
	}
	*b = Batch{events: events[:0], spareEvents: spareEvents, spareIndex: spareIndex}
	if cap(events) <= 64 && cap(spareEvents) <= 64 {
		batchPool.Put(b)
	}
}

// DecodeRaw turns the properties, traits and context the event holds as
// text into its maps.
func (e *Event) DecodeRaw() {
	if e.raw.properties != "" {
		e.Properties, e.raw.properties = decodeText(e.raw.properties), ""
	}
	if e.raw.traits != "" {
		e.Traits, e.raw.traits = decodeText(e.raw.traits), ""
	}
	e.ContextMap()
}

// ContextMap returns the event's context as a map its caller may change,
// decoding it first when the event holds it as text; nil when the event
// has no context.
func (e *Event) ContextMap() map[string]any {
	if e.raw.context != "" {
		e.Context = decodeText(e.raw.context)
		e.raw.context, e.raw.ctxIP, e.raw.ctxUA, e.raw.ctxConsent = "", false, [2]int32{}, [2]int32{}
	}
	return e.Context
}

// ContextValue returns the value of key in the event's context, as
// encoding/json decodes it into an any; nil when there is none. The event
// is left as it is.
func (e *Event) ContextValue(key string) any {
	if e.raw.context == "" {
		return e.Context[key]
	}
	var span [2]int32
	switch key {
	case "userAgent":
		span = e.raw.ctxUA
	case "consent":
		span = e.raw.ctxConsent
	default:
		return decodeText(e.raw.context)[key]
	}
	if span[1] == 0 {
		return nil
	}
	text := e.raw.context[span[0]:span[1]]
	if s, ok := plainString(text); ok {
		return s
	}
	d := textDecoder(text)
	v, _ := d.value()
	return v
}

// ContextString returns the value of key in the event's context when it
// is a string: ContextValue without the interface.
func (e *Event) ContextString(key string) (string, bool) {
	if e.raw.context != "" && key == "userAgent" {
		if s, ok := plainString(e.raw.context[e.raw.ctxUA[0]:e.raw.ctxUA[1]]); ok {
			return s, true
		}
	}
	s, ok := e.ContextValue(key).(string)
	return s, ok
}

// plainString returns the string that text, a JSON value of checked
// text, is when it is a string without escapes.
func plainString(text string) (string, bool) {
	if len(text) >= 2 && text[0] == '"' && strings.IndexByte(text, '\\') < 0 {
		return text[1 : len(text)-1], true // UTF-8, as text is
	}
	return "", false
}

// ContextHas reports whether the event's context has a member named key,
// once or more.
func (e *Event) ContextHas(key string) bool {
	if e.raw.context == "" {
		_, ok := e.Context[key]
		return ok
	}
	switch key {
	case "ip":
		return e.raw.ctxIP
	case "userAgent":
		return e.raw.ctxUA[1] != 0
	case "consent":
		return e.raw.ctxConsent[1] != 0
	}
	_, ok := decodeText(e.raw.context)[key]
	return ok
}

// textDecoder returns a decoder of s, which it only reads.
func textDecoder(s string) fastDecoder {
	return fastDecoder{data: unsafe.Slice(unsafe.StringData(s), len(s)), s: s}
}

// decodeText decodes checked text (see rawText) into a map.
func decodeText(text string) map[string]any {
	d := textDecoder(text)
	m, ok := d.object()
	if !ok {
		panic("event: checked text does not decode: " + clip(text))
	}
	return m
}

// rawField reads an event's properties, traits or context, an object or
// null: as text into *text when it passes rawText's checks, else into *m
// as mapField does. ctx, for the context, gets its members of note.
func (d *fastDecoder) rawField(text *string, m *map[string]any, ctx *rawText) bool {
	switch d.peek() {
	case '{':
	case 'n':
		*text, *m = "", nil
		return d.literal("null")
	default:
		return false
	}
	start, depth := d.pos, d.depth
	d.dirty, d.badUTF8 = false, false
	if !d.rawObject(1, ctx, start) {
		return false
	}
	if !d.dirty && !d.badUTF8 {
		*text, *m = d.s[start:d.pos], nil
		return true
	}
	// Read it again, as a map: Validate judges it.
	d.pos, d.depth = start, depth
	if ctx != nil {
		ctx.ctxIP, ctx.ctxUA, ctx.ctxConsent = false, [2]int32{}, [2]int32{}
	}
	*text = ""
	return d.mapField(m)
}

// rawPeek is peek for text passed through: whitespace makes it dirty.
func (d *fastDecoder) rawPeek() byte {
	if d.pos < len(d.data) {
		switch c := d.data[d.pos]; c {
		case ' ', '\t', '\n', '\r':
			d.dirty = true
			return d.peek()
		default:
			return c
		}
	}
	return 0
}

// rawNext is next for text passed through.
func (d *fastDecoder) rawNext(end byte) bool {
	switch d.rawPeek() {
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

// rawValue reads past a value whose container is at nesting level
// level-1, checking it as rawText says and as value would read it: where
// value fails, it fails.
func (d *fastDecoder) rawValue(level int) bool {
	switch c := d.rawPeek(); {
	case c == '"':
		_, _, ok := d.scanString()
		return ok
	case c == '{':
		return d.rawObject(level, nil, 0)
	case c == '[':
		return d.rawArray(level)
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		start := d.pos
		return d.scanNumber() && inRange(d.data[start:d.pos])
	}
	return false
}

// inRange reports whether a number in JSON's grammar is within float64's
// range, as value requires.
func inRange(num []byte) bool {
	if len(num) < 300 {
		exp := false
		for _, c := range num {
			exp = exp || c == 'e' || c == 'E'
		}
		if !exp {
			return true // under 1e300
		}
	}
	_, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64)
	return err == nil
}

// rawObject reads past an object at nesting level level. With ctx, the
// object is an event's context that starts at base: ctx gets its members
// of note.
func (d *fastDecoder) rawObject(level int, ctx *rawText, base int) bool {
	if d.depth++; d.depth > maxFastDepth {
		return false
	}
	if level > MaxDepth {
		d.dirty = true
	}
	d.pos++ // {
	if d.rawPeek() == '}' {
		d.pos++
		d.depth--
		return true
	}
	for {
		if d.rawPeek() != '"' {
			return false
		}
		kstart, clean, ok := d.scanString()
		if !ok {
			return false
		}
		var key string
		if ctx != nil {
			if key = d.s[kstart : d.pos-1]; !clean {
				key = d.unescape(d.data[kstart : d.pos-1])
			}
		}
		if d.rawPeek() != ':' {
			return false
		}
		d.pos++
		d.rawPeek()
		vstart := d.pos
		if !d.rawValue(level + 1) {
			return false
		}
		if ctx != nil {
			span := [2]int32{int32(vstart - base), int32(d.pos - base)}
			switch key {
			case "ip":
				ctx.ctxIP = true
			case "userAgent":
				ctx.ctxUA = span
			case "consent":
				ctx.ctxConsent = span
			}
		}
		if !d.rawNext('}') {
			break
		}
	}
	d.depth--
	return !d.failed
}

// rawArray reads past an array at nesting level level.
func (d *fastDecoder) rawArray(level int) bool {
	if d.depth++; d.depth > maxFastDepth {
		return false
	}
	if level > MaxDepth {
		d.dirty = true
	}
	d.pos++ // [
	if d.rawPeek() == ']' {
		d.pos++
		d.depth--
		return true
	}
	for {
		if !d.rawValue(level + 1) {
			return false
		}
		if !d.rawNext(']') {
			break
		}
	}
	d.depth--
	return !d.failed
}
