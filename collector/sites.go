package collector

import (
	"context"

	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/site"
)

// siteKind is the config topic's kind of a site.
const siteKind = "site"

// SiteHandler applies the sites of the config topic (see configtopic) to
// reg, so every collector replica knows the sites the admin API wrote.
// Sites from files or flags are put in the registry directly.
func SiteHandler(reg *site.Registry) configtopic.Handler {
	return configtopic.Apply[site.Site](reg)
}

// SiteAdmin writes sites to the config topic for every replica's watcher.
type SiteAdmin struct {
	reg *site.Registry
	w   *configtopic.Writer[site.Site]
}

// NewSiteAdmin returns the admin side of sites; pub must wait for acks.
func NewSiteAdmin(reg *site.Registry, pub Publisher, topic string) *SiteAdmin {
	return &SiteAdmin{reg: reg, w: configtopic.NewWriter[site.Site](siteKind, topic, pub, reg)}
}

// ErrSiteNotFound is returned by Delete for an unknown site.
var ErrSiteNotFound = configtopic.ErrNotFound

// Put stores a site: it is valid, its write key is not another site's
// (checked until it is stored), and Kafka acknowledged it.
func (a *SiteAdmin) Put(ctx context.Context, s site.Site) error {
	return a.w.Put(ctx, s.ID, s, func() error {
		if err := s.Validate(); err != nil {
			return err
		}
		for _, other := range a.reg.List() {
			if other.WriteKey == s.WriteKey && other.ID != s.ID {
				return site.ErrKeyTaken
			}
		}
		return nil
	})
}

// Delete removes a site everywhere.
func (a *SiteAdmin) Delete(ctx context.Context, id string) error {
	return a.w.Delete(ctx, id, func(id string) bool { _, ok := a.Get(id); return ok })
}

// Get returns the site with the given id.
func (a *SiteAdmin) Get(id string) (site.Site, bool) {
	for _, s := range a.reg.List() {
		if s.ID == id {
			return s, true
		}
	}
	return site.Site{}, false
}
