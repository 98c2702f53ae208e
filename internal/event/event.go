// Package event defines the tracking event: the Segment-spec wire format the
// collector accepts, the fields the collector adds, and its validation.
//
// It imports no infrastructure: the collector decodes into it, Kafka carries
// it as JSON, and the profiler reads it back.
package event

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ecrm/ecrm/internal/identity"
)

// Types of event, as in the Segment spec.
const (
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypeAlias    = "alias"
	TypeGroup    = "group"
)

// Limits on what a single event may hold.
const (
	// MaxEventBytes is the largest encoded event accepted.
	MaxEventBytes = 32 << 10
	// MaxIDLength is the longest id (messageId, anonymousId, userId) accepted.
	MaxIDLength = 256
	// MaxNameLength is the longest event or page name accepted.
	MaxNameLength = 512
	// MaxDepth is the deepest nesting of objects and arrays accepted in
	// properties, traits and context.
	MaxDepth = 8
)

// Errors returned by Validate. Each is wrapped with the offending field.
var (
	// ErrInvalid is returned (wrapped) when an event breaks a rule.
	ErrInvalid = errors.New("invalid event")
)

// Event is one tracking call in the Segment spec, with the fields the
// collector adds once it has accepted it.
type Event struct {
	Type        string         `json:"type"`
	Event       string         `json:"event,omitempty"`
	Name        string         `json:"name,omitempty"`
	MessageID   string         `json:"messageId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	UserID      string         `json:"userId,omitempty"`
	PreviousID  string         `json:"previousId,omitempty"`
	GroupID     string         `json:"groupId,omitempty"`
	Timestamp   time.Time      `json:"timestamp,omitzero"`
	SentAt      time.Time      `json:"sentAt,omitzero"`
	Properties  map[string]any `json:"properties,omitempty"`
	Traits      map[string]any `json:"traits,omitempty"`
	Context     map[string]any `json:"context,omitempty"`

	// Added by the collector.
	ReceivedAt time.Time `json:"receivedAt,omitzero"`
	SiteID     string    `json:"siteId,omitempty"`
	VisitorID  string    `json:"visitorId,omitempty"`
	IP         string    `json:"ip,omitempty"` // anonymised, never the raw address
	UA         *UA       `json:"ua,omitempty"`
	Bot        bool      `json:"bot,omitempty"`

	// raw holds properties, traits or context as the JSON text the client
	// sent, checked, for an event of DecodeBatchRaw; the field's map is
	// nil meanwhile. AppendJSON writes the text as it is; DecodeRaw turns
	// it into the maps.
	raw rawText
}

// UA is the parsed user agent the collector attaches to an event.
type UA struct {
	Browser string `json:"browser,omitempty"`
	Version string `json:"version,omitempty"`
	OS      string `json:"os,omitempty"`
	Device  string `json:"device,omitempty"`
}

// clearServerFields drops what only the collector may set, whatever the
// client sent in those fields.
func (e *Event) clearServerFields() {
	e.ReceivedAt, e.SiteID, e.VisitorID, e.IP, e.UA, e.Bot = time.Time{}, "", "", "", nil, false
}

// Key returns the Kafka partition key of the event: the user id when it can
// identify someone, else the anonymous id when it can, else the collector's
// visitor id. Placeholder ids such as "null" or "0" are passed over.
func (e *Event) Key() string {
	switch {
	case e.UserID != "" && identity.Valid(e.UserID, nil):
		return e.UserID
	case e.AnonymousID != "" && identity.Valid(e.AnonymousID, nil):
		return e.AnonymousID
	default:
		return e.VisitorID
	}
}

// Validate reports whether the event is well formed: a known type, the
// fields its type requires, ids and names of sane length, valid UTF-8 and
// bounded nesting. It does not check timestamps against a clock; see
// [Event.ValidateTime].
func (e *Event) Validate() error {
	switch e.Type {
	case TypePage, TypeScreen, TypeTrack, TypeIdentify, TypeAlias, TypeGroup:
	case "":
		return invalid("type", "is required")
	default:
		return invalid("type", fmt.Sprintf("%q is not one of page, screen, track, identify, alias, group", clip(e.Type)))
	}
	if e.UserID == "" && e.AnonymousID == "" && e.VisitorID == "" {
		return invalid("anonymousId", "or userId is required")
	}
	for _, f := range []struct{ name, v string }{
		{"messageId", e.MessageID}, {"anonymousId", e.AnonymousID},
		{"userId", e.UserID}, {"previousId", e.PreviousID}, {"groupId", e.GroupID},
	} {
		if len(f.v) > MaxIDLength {
			return invalid(f.name, fmt.Sprintf("is longer than %d bytes", MaxIDLength))
		}
		if !utf8.ValidString(f.v) {
			return invalid(f.name, "is not valid UTF-8")
		}
	}
	for _, f := range []struct{ name, v string }{{"event", e.Event}, {"name", e.Name}} {
		if len(f.v) > MaxNameLength {
			return invalid(f.name, fmt.Sprintf("is longer than %d bytes", MaxNameLength))
		}
		if !utf8.ValidString(f.v) {
			return invalid(f.name, "is not valid UTF-8")
		}
	}
	switch e.Type {
	case TypeTrack:
		if strings.TrimSpace(e.Event) == "" {
			return invalid("event", "is required for track")
		}
	case TypeIdentify:
		if e.UserID == "" && len(e.Traits) == 0 && !nonEmpty(e.raw.traits) {
			return invalid("userId", "or traits are required for identify")
		}
	case TypeAlias:
		if e.UserID == "" || e.PreviousID == "" {
			return invalid("previousId", "and userId are required for alias")
		}
	case TypeGroup:
		if e.GroupID == "" {
			return invalid("groupId", "is required for group")
		}
	}
	for _, f := range []struct {
		name string
		m    map[string]any
	}{{"properties", e.Properties}, {"traits", e.Traits}, {"context", e.Context}} {
		// Text in raw was checked as it was read (see rawText).
		if err := checkValue(f.m, 1); err != nil {
			return invalid(f.name, err.Error())
		}
	}
	return nil
}

// ValidateTime reports whether the event's timestamp is sane relative to
// now: not before 2000 and not more than a day in the future.
func (e *Event) ValidateTime(now time.Time) error {
	if e.Timestamp.IsZero() {
		return nil
	}
	if e.Timestamp.UTC().Year() < 2000 {
		return invalid("timestamp", "is before the year 2000")
	}
	if e.Timestamp.After(now.Add(24 * time.Hour)) {
		return invalid("timestamp", "is more than a day in the future")
	}
	return nil
}

// checkValue walks v, an object or array at nesting level depth, and
// reports the first string that is not UTF-8 or the first object or array
// nested deeper than MaxDepth.
func checkValue(v any, depth int) error {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return errors.New("holds a string that is not valid UTF-8")
		}
		return nil
	case map[string]any, []any:
		if depth > MaxDepth {
			return fmt.Errorf("nests deeper than %d levels", MaxDepth)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			if !utf8.ValidString(k) {
				return errors.New("holds a key that is not valid UTF-8")
			}
			if err := checkValue(vv, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, vv := range x {
			if err := checkValue(vv, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func invalid(field, msg string) error {
	return fmt.Errorf("%w: %s %s", ErrInvalid, field, msg)
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
