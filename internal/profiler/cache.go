package profiler

import (
	"github.com/ecrm/ecrm/internal/profile"
)

// CacheProfiles bounds the decoded profiles kept per partition between
// batches.
const CacheProfiles = 10_000

// partCache keeps, for one partition this member owns, the profiles and
// links of recent batches decoded, so the next batch touching the same
// people reads neither the store nor JSON. It holds the committed state
// only: a batch puts its changes in after its commit, and any failure
// drops the whole cache (the partition is closed and opened again). One
// goroutine uses it at a time, the partition's.
type partCache struct {
	profiles map[string]*profile.Profile
	links    map[string]string // "" : known to have no link
}

func newPartCache() *partCache {
	return &partCache{profiles: map[string]*profile.Profile{}, links: map[string]string{}}
}

// put keeps a committed profile (nil: deleted).
func (c *partCache) put(key string, p *profile.Profile) {
	if p == nil {
		delete(c.profiles, key)
		return
	}
	if _, ok := c.profiles[key]; !ok && len(c.profiles) >= CacheProfiles {
		for k := range c.profiles { // drop an arbitrary one: map order is random
			delete(c.profiles, k)
			break
		}
	}
	c.profiles[key] = p
}

func (c *partCache) putLink(anon, user string) {
	if _, ok := c.links[anon]; !ok && len(c.links) >= 4*CacheProfiles {
		for k := range c.links {
			delete(c.links, k)
			break
		}
	}
	c.links[anon] = user
}

// cache returns the partition's cache, creating it.
func (p *Profiler) cache(partition int) *partCache {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.caches[partition]
	if !ok {
		c = newPartCache()
		p.caches[partition] = c
	}
	return c
}

// dropCache forgets a partition's cache.
func (p *Profiler) dropCache(partition int) {
	p.mu.Lock()
	delete(p.caches, partition)
	p.mu.Unlock()
}

// keep puts what a committed batch read and changed into the cache.
func (b *batch) keep() {
	for key, prof := range b.profiles {
		b.cache.put(key, prof)
	}
	for anon, user := range b.links {
		b.cache.putLink(anon, user)
	}
}
