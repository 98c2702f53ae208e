// Package profile holds the customer profile, the 360° view the profiler
// keeps for each person, and the rules that change it: applying a hit and
// absorbing another profile when two turn out to be one person.
//
// It imports no infrastructure; the profiler stores profiles and the
// personalize views read them.
package profile

import (
	"slices"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// RecentCap is how many recent message ids a profile keeps to de-duplicate
// client retries.
const RecentCap = 128

// Profile is one person as far as ecrm knows them. It is not safe for
// concurrent use; the profiler owns it and publishes copies.
type Profile struct {
	// ID is the profile's stable, opaque id (see identity.ProfileID).
	ID string `json:"id"`
	// Key is the identifier that owns the profile: `u:<userId>` once known,
	// else `a:<anonymousId>`. It names the profiler partition holding it.
	Key string `json:"key"`
	// IDs are every identifier linked to the profile.
	IDs    []string       `json:"ids"`
	Traits map[string]any `json:"traits,omitempty"`

	Events    int64     `json:"events"`
	PageViews int64     `json:"pageViews"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`

	// Version counts the changes made to the profile.
	Version int64 `json:"version"`
	// Recent holds the most recent message ids applied, each prefixed with
	// the kind of hit ("p:" page, "o:" other) so that an overlap can be
	// taken back when two profiles merge.
	Recent []string `json:"recent,omitempty"`
	// Merged lists the keys of the profiles absorbed into this one.
	Merged []string `json:"merged,omitempty"`
}

// New returns an empty profile owned by key with the given id.
func New(id, key string) *Profile {
	return &Profile{ID: id, Key: key, IDs: []string{key}}
}

// HasID reports whether the profile is known by identifier id.
func (p *Profile) HasID(id string) bool { return slices.Contains(p.IDs, id) }

// AddID links identifier id to the profile and reports whether it was new.
func (p *Profile) AddID(id string) bool {
	if p.HasID(id) {
		return false
	}
	p.IDs = append(p.IDs, id)
	p.Version++
	return true
}

// Apply adds a hit to the profile. It reports false, and changes nothing,
// when the hit's message id was already applied.
func (p *Profile) Apply(e *event.Event) bool {
	tag := recentTag(e)
	if e.MessageID != "" {
		if slices.Contains(p.Recent, tag) {
			return false
		}
		p.Recent = append(p.Recent, tag)
		if len(p.Recent) > RecentCap {
			p.Recent = slices.Delete(p.Recent, 0, len(p.Recent)-RecentCap)
		}
	}
	p.Events++
	if e.Type == event.TypePage || e.Type == event.TypeScreen {
		p.PageViews++
	}
	ts := e.Timestamp
	if ts.IsZero() {
		ts = e.ReceivedAt
	}
	p.seen(ts)
	if e.Type == event.TypeIdentify && len(e.Traits) > 0 {
		if p.Traits == nil {
			p.Traits = make(map[string]any, len(e.Traits))
		}
		for k, v := range e.Traits {
			if strings.EqualFold(k, "email") {
				continue // stored hashed as an identifier, never in clear
			}
			p.Traits[k] = v
		}
	}
	p.Version++
	return true
}

func (p *Profile) seen(ts time.Time) {
	if ts.IsZero() {
		return
	}
	ts = ts.UTC()
	if p.FirstSeen.IsZero() || ts.Before(p.FirstSeen) {
		p.FirstSeen = ts
	}
	if ts.After(p.LastSeen) {
		p.LastSeen = ts
	}
}

// Absorb merges other, a profile of the same person, into p. It reports
// false when other was absorbed before. Hits that both profiles counted
// (a retry that reached each) are counted once.
func (p *Profile) Absorb(other *Profile) bool {
	if other.Key == p.Key || slices.Contains(p.Merged, other.Key) {
		return false
	}
	p.Merged = append(p.Merged, other.Key)
	events, pages := other.Events, other.PageViews
	// Keep this profile's own ids the longest: the absorbed profile's come
	// first, so trimming drops them before ours.
	recent := make([]string, 0, len(other.Recent)+len(p.Recent))
	for _, tag := range other.Recent {
		if slices.Contains(p.Recent, tag) {
			events--
			if tag[0] == 'p' {
				pages--
			}
			continue
		}
		recent = append(recent, tag)
	}
	p.Recent = append(recent, p.Recent...)
	if len(p.Recent) > RecentCap {
		p.Recent = slices.Delete(p.Recent, 0, len(p.Recent)-RecentCap)
	}
	p.Events += max(events, 0)
	p.PageViews += max(pages, 0)
	p.seen(other.FirstSeen)
	p.seen(other.LastSeen)
	for _, id := range other.IDs {
		p.AddID(id)
	}
	for k, v := range other.Traits {
		if p.Traits == nil {
			p.Traits = map[string]any{}
		}
		if _, ok := p.Traits[k]; !ok {
			p.Traits[k] = v
		}
	}
	p.Merged = append(p.Merged, other.Merged...)
	p.Version++
	return true
}

func recentTag(e *event.Event) string {
	if e.Type == event.TypePage || e.Type == event.TypeScreen {
		return "p:" + e.MessageID
	}
	return "o:" + e.MessageID
}
