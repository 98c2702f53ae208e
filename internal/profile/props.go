package profile

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is the longest product id, category or order id a profile
// keeps; longer ones are ignored rather than cut, so that two never collide.
const MaxKeyLength = 128

// maxTextLength bounds free text a profile keeps (a product name, a
// campaign); longer text is cut.
const maxTextLength = 200

// obj returns m[key] as an object, or nil.
func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

// str returns m[key] as a trimmed string: a string as it is, a number in
// its shortest form (product ids are often numeric), else "".
func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case json.Number:
		return v.String()
	}
	return ""
}

// num returns m[key] as a finite number: a JSON number or a numeric string.
func num(m map[string]any, key string) (float64, bool) {
	var f float64
	switch v := m[key].(type) {
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case json.Number:
		var err error
		if f, err = v.Float64(); err != nil {
			return 0, false
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// boundedKey returns s if it may serve as a map key or id in a profile,
// else "".
func boundedKey(s string) string {
	if len(s) > MaxKeyLength || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// category returns the normalised category of m: trimmed, lower case, so
// that segment expressions can write interest["shoes"].
func category(m map[string]any) string {
	return boundedKey(strings.ToLower(str(m, "category")))
}

// productID returns the product id of a product object: product_id, else
// the v1 spec's id, else sku.
func productID(m map[string]any) string {
	for _, k := range [...]string{"product_id", "id", "sku"} {
		if s := str(m, k); s != "" {
			return boundedKey(s)
		}
	}
	return ""
}

// text cuts s to at most maxTextLength bytes on a rune boundary.
func text(s string) string {
	if len(s) <= maxTextLength {
		return s
	}
	i := maxTextLength
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
