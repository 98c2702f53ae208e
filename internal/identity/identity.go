// Package identity names the identifiers a profile is known by and the rules
// that keep bad ones from merging anything.
//
// An identifier is a prefix and a value: `a:` an anonymous id (the tag's or
// the collector's cookie), `u:` a user id, `e:` the SHA-256 of a normalised
// email address (the address itself is never stored).
package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Prefixes of identifiers.
const (
	PrefixAnonymous = "a:"
	PrefixUser      = "u:"
	PrefixEmail     = "e:"
	// PrefixProfile starts every profile id.
	PrefixProfile = "p_"
)

// junk are ids that sites send by mistake and that must never merge
// anything (compared case-insensitively, after trimming).
var junk = map[string]bool{
	"": true, "null": true, "undefined": true, "0": true, "-1": true,
	"anonymous": true, "none": true, "nil": true, "nan": true, "[object object]": true,
	"unknown": true, "guest": true, "false": true, "true": true,
}

// Valid reports whether id can identify someone: not empty, not one of the
// placeholder values (`null`, `undefined`, `0`, `-1`, `anonymous`, ...), and
// not in extra, the site's own list of ids to ignore (its keys lower-case
// and trimmed).
func Valid(id string, extra map[string]bool) bool {
	t := strings.TrimSpace(id)
	// Lower-casing maps rune to rune, so an id of more runes than the
	// longest junk value is none of them (ids are usually long: UUIDs).
	if len(extra) == 0 && len(t) > maxJunkRunes && utf8.RuneCountInString(t) > maxJunkRunes {
		return true
	}
	t = strings.ToLower(t)
	if junk[t] || extra[t] {
		return false
	}
	return true
}

// maxJunkRunes is the length of the longest junk value, in runes.
var maxJunkRunes = func() int {
	n := 0
	for k := range junk {
		n = max(n, utf8.RuneCountInString(k))
	}
	return n
}()

// Anonymous returns the identifier of an anonymous id.
func Anonymous(id string) string { return PrefixAnonymous + id }

// User returns the identifier of a user id.
func User(id string) string { return PrefixUser + id }

// NormalizeEmail trims and lower-cases an address and reports whether it
// looks like one (a single @ with text either side and a dot in the domain).
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return "", false
	}
	if !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \t\r\n") {
		return "", false
	}
	return s, true
}

// Email returns the identifier of an email address: its normalised form,
// hashed. It reports false when s is not an address.
func Email(s string) (string, bool) {
	n, ok := NormalizeEmail(s)
	if !ok {
		return "", false
	}
	sum := sha256.Sum256([]byte(n))
	return PrefixEmail + hex.EncodeToString(sum[:]), true
}

// ProfileID returns the stable, opaque id of the profile owned by key (an
// identifier such as `u:alice`): it reveals nothing of the key.
func ProfileID(key string) string {
	sum := sha256.Sum256([]byte("ecrm-profile\x00" + key))
	return PrefixProfile + hex.EncodeToString(sum[:10])
}

// Lookup turns what a caller asks for (`u:<id>`, `a:<id>`, `e:<address>`,
// or a profile id) into the identifier or profile id that is stored. It
// reports false when s has no known prefix or an invalid value.
func Lookup(s string) (string, bool) {
	switch {
	case strings.HasPrefix(s, PrefixProfile):
		return s, len(s) > len(PrefixProfile)
	case strings.HasPrefix(s, PrefixEmail):
		v := s[len(PrefixEmail):]
		if lv := strings.ToLower(v); len(lv) == 64 && isHex(lv) {
			return PrefixEmail + lv, true // already hashed
		}
		return Email(v)
	case strings.HasPrefix(s, PrefixUser), strings.HasPrefix(s, PrefixAnonymous):
		return s, Valid(s[2:], nil)
	}
	return "", false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
