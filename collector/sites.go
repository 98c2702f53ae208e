package collector

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/site"
)

// siteKind is the config topic's kind of a site.
const siteKind = "site"

// SiteHandler applies the sites of the config topic (see configtopic) to
// reg, so every collector replica knows the sites the admin API wrote.
// Sites from files or flags are put in the registry directly.
func SiteHandler(reg *site.Registry) func(id string, value []byte) error {
	return func(id string, value []byte) error {
		if value == nil {
			reg.Delete(id)
			return nil
		}
		var s site.Site
		if err := json.Unmarshal(value, &s); err != nil {
			return err
		}
		return reg.Put(s)
	}
}

// SiteAdmin writes sites to the config topic for every replica's watcher.
type SiteAdmin struct {
	mu    sync.Mutex // one change at a time: the key check holds until stored
	reg   *site.Registry
	pub   Publisher
	topic string
}

// NewSiteAdmin returns the admin side of sites; pub must wait for acks.
func NewSiteAdmin(reg *site.Registry, pub Publisher, topic string) *SiteAdmin {
	return &SiteAdmin{reg: reg, pub: pub, topic: topic}
}

// ErrSiteNotFound is returned by Delete for an unknown site.
var ErrSiteNotFound = errors.New("no such site")

// Put stores a site: it is valid, its write key is not another site's,
// and Kafka acknowledged it.
func (a *SiteAdmin) Put(ctx context.Context, s site.Site) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := s.Validate(); err != nil {
		return err
	}
	for _, other := range a.reg.List() {
		if other.WriteKey == s.WriteKey && other.ID != s.ID {
			return site.ErrKeyTaken
		}
	}
	value, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := a.pub.Publish(ctx, kafka.Message{Topic: a.topic, Key: configtopic.Key(siteKind, s.ID), Value: value}); err != nil {
		return err
	}
	return a.reg.Put(s)
}

// Delete removes a site everywhere.
func (a *SiteAdmin) Delete(ctx context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.Get(id); !ok {
		return ErrSiteNotFound
	}
	if err := a.pub.Publish(ctx, kafka.Message{Topic: a.topic, Key: configtopic.Key(siteKind, id), Value: nil}); err != nil {
		return err
	}
	a.reg.Delete(id)
	return nil
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
