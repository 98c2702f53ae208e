package event

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goTypeName matches what a Go type name looks like in an error message:
// a map, slice or interface type, a package-qualified name, a field path
// through one of this package's structs, a sized number type or a struct
// literal. None of it belongs in a client's reply.
var goTypeName = regexp.MustCompile(`map\[|\[\]|interface ?\{|\b(json|event|time|reflect|strconv)\.[A-Za-z]|\b(Event|UA|Batch|envelope|single)\.[A-Za-z]|\b(float|u?int)(8|16|32|64)\b|\bstruct ?\{`)

// checkClientSafe fails the test when msg, an error message that reaches a
// client, names a Go type or is empty.
func checkClientSafe(tb testing.TB, what, msg string) {
	tb.Helper()
	if msg == "" {
		tb.Errorf("%s: error message is empty", what)
	}
	if m := goTypeName.FindString(msg); m != "" {
		tb.Errorf("%s: error message %q names a Go type (%q); it is not fit for a client", what, msg, m)
	}
}

// nested returns levels JSON containers, objects nested in one another,
// the innermost holding leaf (for example `1` or `{}`): nested(2, "1") is
// `{"a":{"a":1}}`.
func nested(levels int, leaf string) string {
	if levels <= 0 {
		return leaf
	}
	return strings.Repeat(`{"a":`, levels-1) + `{"a":` + leaf + `}` + strings.Repeat(`}`, levels-1)
}

// nestedMap returns the map a properties object of levels nested objects
// decodes to, counting the properties object itself as the first level;
// the innermost map holds leaf under "a" (or is empty when leaf is nil).
func nestedMap(levels int, leaf any) map[string]any {
	m := map[string]any{}
	if leaf != nil {
		m["a"] = leaf
	}
	for range levels - 1 {
		m = map[string]any{"a": m}
	}
	return m
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		e    Event
		// field is the field the error names, "" when the event is valid.
		field string
	}{
		{"page", Event{Type: TypePage, AnonymousID: "a1"}, ""},
		{"page with name", Event{Type: TypePage, Name: "Home", AnonymousID: "a1"}, ""},
		{"screen", Event{Type: TypeScreen, UserID: "u1"}, ""},
		{"track", Event{Type: TypeTrack, Event: "Order Completed", AnonymousID: "a1"}, ""},
		{"identify with user id", Event{Type: TypeIdentify, UserID: "u1"}, ""},
		{"identify with traits only", Event{Type: TypeIdentify, AnonymousID: "a1", Traits: map[string]any{"email": "a@example.com"}}, ""},
		{"alias", Event{Type: TypeAlias, UserID: "u1", PreviousID: "a1"}, ""},
		{"group", Event{Type: TypeGroup, UserID: "u1", GroupID: "g1"}, ""},
		{"visitor id only", Event{Type: TypePage, VisitorID: "v1"}, ""},
		{"user id only", Event{Type: TypePage, UserID: "u1"}, ""},
		{"ids of the maximum length", Event{Type: TypePage, MessageID: long(MaxIDLength), AnonymousID: long(MaxIDLength), UserID: long(MaxIDLength)}, ""},
		{"names of the maximum length", Event{Type: TypeTrack, Event: long(MaxNameLength), Name: long(MaxNameLength), AnonymousID: "a1"}, ""},
		{"unicode", Event{Type: TypeTrack, Event: "Commande passée ✓", AnonymousID: "visiteur-é", Properties: map[string]any{"nom": "Café ☕", "日本": "東京"}}, ""},
		{"properties at the depth limit", Event{Type: TypePage, AnonymousID: "a1", Properties: nestedMap(MaxDepth, nil)}, ""},
		{"scalar at the depth limit", Event{Type: TypePage, AnonymousID: "a1", Properties: nestedMap(MaxDepth, 1.0)}, ""},
		{"array at the depth limit", Event{Type: TypePage, AnonymousID: "a1", Properties: nestedMap(MaxDepth-1, []any{})}, ""},

		{"no type", Event{AnonymousID: "a1"}, "type"},
		{"unknown type", Event{Type: "click", AnonymousID: "a1"}, "type"},
		{"type in capitals", Event{Type: "Page", AnonymousID: "a1"}, "type"},
		{"long unknown type", Event{Type: long(10_000), AnonymousID: "a1"}, "type"},
		{"no id", Event{Type: TypePage}, "anonymousId"},
		{"message id too long", Event{Type: TypePage, AnonymousID: "a1", MessageID: long(MaxIDLength + 1)}, "messageId"},
		{"anonymous id too long", Event{Type: TypePage, AnonymousID: long(MaxIDLength + 1)}, "anonymousId"},
		{"user id too long", Event{Type: TypePage, UserID: long(MaxIDLength + 1)}, "userId"},
		{"previous id too long", Event{Type: TypeAlias, UserID: "u1", PreviousID: long(MaxIDLength + 1)}, "previousId"},
		{"group id too long", Event{Type: TypeGroup, UserID: "u1", GroupID: long(MaxIDLength + 1)}, "groupId"},
		{"event name too long", Event{Type: TypeTrack, AnonymousID: "a1", Event: long(MaxNameLength + 1)}, "event"},
		{"page name too long", Event{Type: TypePage, AnonymousID: "a1", Name: long(MaxNameLength + 1)}, "name"},
		{"anonymous id not UTF-8", Event{Type: TypePage, AnonymousID: "a\xff"}, "anonymousId"},
		{"user id not UTF-8", Event{Type: TypePage, UserID: "\xc3("}, "userId"},
		{"event name not UTF-8", Event{Type: TypeTrack, AnonymousID: "a1", Event: "Order\xfe"}, "event"},
		{"page name not UTF-8", Event{Type: TypePage, AnonymousID: "a1", Name: "\xed\xa0\x80"}, "name"},
		{"track without event", Event{Type: TypeTrack, AnonymousID: "a1"}, "event"},
		{"track with blank event", Event{Type: TypeTrack, AnonymousID: "a1", Event: " \t"}, "event"},
		{"identify without user id or traits", Event{Type: TypeIdentify, AnonymousID: "a1"}, "userId"},
		{"identify with empty traits", Event{Type: TypeIdentify, AnonymousID: "a1", Traits: map[string]any{}}, "userId"},
		{"alias without previous id", Event{Type: TypeAlias, UserID: "u1"}, "previousId"},
		{"alias without user id", Event{Type: TypeAlias, AnonymousID: "a1", PreviousID: "a0"}, "previousId"},
		{"group without group id", Event{Type: TypeGroup, UserID: "u1"}, "groupId"},
		{"property value not UTF-8", Event{Type: TypePage, AnonymousID: "a1", Properties: map[string]any{"k": "v\xff"}}, "properties"},
		{"property key not UTF-8", Event{Type: TypePage, AnonymousID: "a1", Properties: map[string]any{"k\xff": "v"}}, "properties"},
		{"trait in an array not UTF-8", Event{Type: TypeIdentify, UserID: "u1", Traits: map[string]any{"tags": []any{"ok", "\xff"}}}, "traits"},
		{"context value not UTF-8", Event{Type: TypePage, AnonymousID: "a1", Context: map[string]any{"page": map[string]any{"title": "\x80"}}}, "context"},
		{"properties too deep", Event{Type: TypePage, AnonymousID: "a1", Properties: nestedMap(MaxDepth+1, nil)}, "properties"},
		{"traits too deep", Event{Type: TypeIdentify, UserID: "u1", Traits: nestedMap(MaxDepth+1, "x")}, "traits"},
		{"context too deep", Event{Type: TypePage, AnonymousID: "a1", Context: nestedMap(MaxDepth+1, 1.0)}, "context"},
		{"arrays too deep", Event{Type: TypePage, AnonymousID: "a1", Properties: map[string]any{"a": []any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{}}}}}}}}}}}, "properties"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.Validate()
			if tc.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want an error wrapping %v", err, ErrInvalid)
			}
			if want := ErrInvalid.Error() + ": " + tc.field + " "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Validate() = %q, want it to start with %q", err, want)
			}
			checkClientSafe(t, "Validate", err.Error())
			if len(err.Error()) > 200 {
				t.Errorf("Validate() = %q (%d bytes), want a short message", err, len(err.Error()))
			}
		})
	}
}

func TestValidateTime(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ts   time.Time
		ok   bool
	}{
		{"zero", time.Time{}, true},
		{"now", now, true},
		{"an hour ago", now.Add(-time.Hour), true},
		{"years ago", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"start of 2000", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"end of 1999", time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{"epoch", time.Unix(0, 0).UTC(), false},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"clock an hour fast", now.Add(time.Hour), true},
		{"exactly a day ahead", now.Add(24 * time.Hour), true},
		{"more than a day ahead", now.Add(24*time.Hour + time.Second), false},
		{"far future", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"now in another zone", now.In(time.FixedZone("IST", 5*3600+1800)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{Type: TypePage, AnonymousID: "a1", Timestamp: tc.ts}
			err := e.ValidateTime(now)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateTime(%v) with timestamp %v = %v, want ok %v", now, tc.ts, err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "timestamp") {
					t.Errorf("ValidateTime() = %v, want an error wrapping %v that names the timestamp", err, ErrInvalid)
				}
				checkClientSafe(t, "ValidateTime", err.Error())
			}
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name                      string
		userID, anonID, visitorID string
		want                      string
	}{
		{"user id first", "u1", "a1", "v1", "u1"},
		{"anonymous id without user id", "", "a1", "v1", "a1"},
		{"visitor id alone", "", "", "v1", "v1"},
		{"nothing", "", "", "", ""},
		{"user id alone", "u1", "", "", "u1"},
		{"user id null", "null", "a1", "v1", "a1"},
		{"user id zero", "0", "a1", "v1", "a1"},
		{"user id undefined", "undefined", "a1", "v1", "a1"},
		{"user id minus one", "-1", "a1", "v1", "a1"},
		{"user id in capitals", "NULL", "a1", "v1", "a1"},
		{"user id padded", " undefined ", "a1", "v1", "a1"},
		{"user id anonymous", "anonymous", "a1", "v1", "a1"},
		{"user id object", "[object Object]", "a1", "v1", "a1"},
		{"both placeholders", "null", "undefined", "v1", "v1"},
		{"anonymous id placeholder", "", "0", "v1", "v1"},
		{"user id that merely contains null", "nullable", "a1", "v1", "nullable"},
		{"numeric user id", "42", "a1", "v1", "42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{UserID: tc.userID, AnonymousID: tc.anonID, VisitorID: tc.visitorID}
			if got := e.Key(); got != tc.want {
				t.Errorf("Key() of userId %q, anonymousId %q, visitorId %q = %q, want %q", tc.userID, tc.anonID, tc.visitorID, got, tc.want)
			}
		})
	}
}
