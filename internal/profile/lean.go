package profile

import sjson "github.com/segmentio/encoding/json"

// AppendLean appends to dst the profile snapshot snap without the
// profiler's bookkeeping members (counted, recent, merged: see
// UnmarshalView), the rest byte for byte, and reports whether it could. A
// snapshot that is not valid JSON, or not an object, is left to the
// caller, which keeps it whole: UnmarshalView reads both forms alike, and
// fails on what is not JSON as it did.
//
// A view stores its profiles lean: the message ids of Recent alone are
// most of a busy profile's snapshot (RecentCap of them), so that a lean
// store is a fraction of the size, and more of it stays in the caches.
func AppendLean(dst, snap []byte) ([]byte, bool) {
	start := len(dst)
	if !sjson.Valid(snap) { // what follows checks the structure only
		return dst, false
	}
	i := skipSpace(snap, 0)
	if i >= len(snap) || snap[i] != '{' {
		return dst[:start], false
	}
	dst = append(dst, '{')
	i++
	first := true
	for {
		i = skipSpace(snap, i)
		if i >= len(snap) {
			return dst[:start], false
		}
		if snap[i] == '}' && first {
			i++
			break
		}
		// A member: "key" : value
		kEnd, ok := skipString(snap, i)
		if !ok {
			return dst[:start], false
		}
		key := snap[i+1 : kEnd-1]
		j := skipSpace(snap, kEnd)
		if j >= len(snap) || snap[j] != ':' {
			return dst[:start], false
		}
		vStart := skipSpace(snap, j+1)
		vEnd, ok := skipJSON(snap, vStart, 0)
		if !ok {
			return dst[:start], false
		}
		switch string(key) {
		case "counted", "recent", "merged":
		default:
			if len(dst) > start+1 {
				dst = append(dst, ',')
			}
			dst = append(dst, snap[i:kEnd]...)
			dst = append(dst, ':')
			dst = append(dst, snap[vStart:vEnd]...)
		}
		first = false
		i = skipSpace(snap, vEnd)
		if i >= len(snap) {
			return dst[:start], false
		}
		if snap[i] == ',' {
			i++
			continue
		}
		if snap[i] != '}' {
			return dst[:start], false
		}
		i++
		break
	}
	if skipSpace(snap, i) != len(snap) {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

// maxLeanDepth bounds the nesting skipJSON follows.
const maxLeanDepth = 64

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at b[i] (its opening
// quote): the index after its closing quote.
func skipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\':
			i++ // the escaped byte; \uXXXX's digits are plain bytes
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		}
	}
	return 0, false
}

// skipJSON returns the end of the JSON value starting at b[i]. It checks
// the structure (brackets, strings, separators) and that scalars are made
// of the bytes numbers and literals use, not their every rule: a member
// the caller keeps is copied as it is, and the decoder judges it.
func skipJSON(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxLeanDepth {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				end, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = skipSpace(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipSpace(b, i+1)
			}
			end, ok := skipJSON(b, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipSpace(b, i+1)
		}
	default:
		start := i
		for i < len(b) && isScalarByte(b[i]) {
			i++
		}
		return i, i > start
	}
}

// isScalarByte reports whether c may appear in a JSON number or literal.
func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}
