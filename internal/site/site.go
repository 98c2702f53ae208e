// Package site holds the websites that send hits: their write keys and the
// policies the collector applies to them.
package site

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownKey is returned by Registry.ByWriteKey for a key no site has.
var ErrUnknownKey = errors.New("site: unknown write key")

// ErrKeyTaken is returned by Registry.Put when another site has the key.
var ErrKeyTaken = errors.New("write key taken")

// Site is one website that sends hits.
type Site struct {
	// ID names the site in events and reports.
	ID string `json:"id"`
	// WriteKey authenticates the site's hits. It is not a secret (it ships
	// in the page) but ties hits to a site.
	WriteKey string `json:"writeKey"`
	// Origins are the page origins allowed to send (scheme://host[:port]);
	// empty allows any.
	Origins []string `json:"origins,omitempty"`
	// RequireConsent keeps hits without the visitor's consent (the tag's
	// context.consent) from being stored as ConsentPolicy says.
	RequireConsent bool `json:"requireConsent,omitempty"`
	// ConsentPolicy is what happens to a hit without consent where consent
	// is required, or from a browser sending Do Not Track or Global Privacy
	// Control where the site honours them: PolicyDrop (the default) stores
	// nothing; PolicyAnonymize stores it without any identifier, cookie or
	// IP, for aggregate counts only.
	ConsentPolicy string `json:"consentPolicy,omitempty"`
	// HonorDNT treats a `DNT: 1` request as one without consent.
	HonorDNT bool `json:"honorDNT,omitempty"`
	// HonorGPC treats a `Sec-GPC: 1` request as one without consent.
	HonorGPC bool `json:"honorGPC,omitempty"`
}

// Consent policies.
const (
	PolicyDrop      = "drop"
	PolicyAnonymize = "anonymize"
)

// AllowsOrigin reports whether a page at origin may send hits for the site.
func (s Site) AllowsOrigin(origin string) bool {
	if len(s.Origins) == 0 || origin == "" {
		return true
	}
	for _, o := range s.Origins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
		// "https://*.shop.com" allows every subdomain.
		if rest, ok := strings.CutPrefix(o, "https://*."); ok {
			if h, ok := strings.CutPrefix(strings.ToLower(origin), "https://"); ok && strings.HasSuffix(h, "."+strings.ToLower(rest)) {
				return true
			}
		}
	}
	return false
}

// Validate reports whether the site can be used.
func (s Site) Validate() error {
	if s.ID == "" || len(s.ID) > 64 || strings.ContainsAny(s.ID, " /\\:") {
		return fmt.Errorf("site: id %q must be 1..64 characters without spaces, slashes or colons", s.ID)
	}
	if len(s.WriteKey) < 4 || len(s.WriteKey) > 128 {
		return fmt.Errorf("site %s: write key must be 4..128 characters", s.ID)
	}
	switch s.ConsentPolicy {
	case "", PolicyDrop, PolicyAnonymize:
	default:
		return fmt.Errorf("site %s: consentPolicy must be %q or %q", s.ID, PolicyDrop, PolicyAnonymize)
	}
	for _, o := range s.Origins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return fmt.Errorf("site %s: origin %q must start with http:// or https://", s.ID, o)
		}
	}
	return nil
}

// Demo is the demo shop's site, served by `ecrm run` unless turned off.
var Demo = Site{ID: "demo", WriteKey: "demo"}

// Registry holds the known sites. The zero value is an empty registry. It
// is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	byKey map[string]Site
}

// Put adds or replaces a site.
func (r *Registry) Put(s Site) error {
	if err := s.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey == nil {
		r.byKey = map[string]Site{}
	}
	if old, ok := r.byKey[s.WriteKey]; ok && old.ID != s.ID {
		return fmt.Errorf("%w: site %s already uses that write key", ErrKeyTaken, old.ID)
	}
	for k, old := range r.byKey {
		if old.ID == s.ID {
			delete(r.byKey, k)
		}
	}
	r.byKey[s.WriteKey] = s
	return nil
}

// Delete removes the site with the given id and reports whether it was there.
func (r *Registry) Delete(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, s := range r.byKey {
		if s.ID == id {
			delete(r.byKey, k)
			return true
		}
	}
	return false
}

// List returns the sites ordered by id.
func (r *Registry) List() []Site {
	r.mu.RLock()
	out := make([]Site, 0, len(r.byKey))
	for _, s := range r.byKey {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Site) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ByWriteKey returns the site with the given write key, or ErrUnknownKey.
func (r *Registry) ByWriteKey(key string) (Site, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.byKey[key]
	if !ok {
		return Site{}, ErrUnknownKey
	}
	return s, nil
}
