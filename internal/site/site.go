// Package site holds the websites that send hits: their write keys and the
// policies the collector applies to them.
package site

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrUnknownKey is returned by Registry.ByWriteKey for a key no site has.
var ErrUnknownKey = errors.New("site: unknown write key")

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
}

// Validate reports whether the site can be used.
func (s Site) Validate() error {
	if s.ID == "" || len(s.ID) > 64 || strings.ContainsAny(s.ID, " /\\:") {
		return fmt.Errorf("site: id %q must be 1..64 characters without spaces, slashes or colons", s.ID)
	}
	if len(s.WriteKey) < 4 || len(s.WriteKey) > 128 {
		return fmt.Errorf("site %s: write key must be 4..128 characters", s.ID)
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
	for k, old := range r.byKey {
		if old.ID == s.ID {
			delete(r.byKey, k)
		}
	}
	r.byKey[s.WriteKey] = s
	return nil
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
