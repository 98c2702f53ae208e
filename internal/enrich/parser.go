package enrich

import (
	"hash/maphash"
	"strings"
	"sync"
)

// DefaultCacheSize is a cache size for NewParser that holds the distinct
// User-Agents of a busy site: a few thousand strings make up nearly all hits.
const DefaultCacheSize = 4096

const (
	// maxShards bounds the number of cache shards; more only spreads the
	// locks of a few hot strings thinner.
	maxShards = 32
	// minShardEntries is the least number of entries a shard holds when
	// there is more than one shard, so that small caches are not split
	// into shards that reset all the time.
	minShardEntries = 64
)

// Parser parses User-Agent strings into UserAgent values and remembers the
// results.
//
// The cache is a fixed number of shards, each a map guarded by its own
// read-write lock and chosen by a hash of the string. When a shard is full,
// the next new string empties it before going in: the strings that matter
// are seen again within moments and come back at once, and there is no
// bookkeeping on the hit path, which only takes a read lock. The cache holds
// at most the size given to NewParser, each entry a string of at most
// MaxUALength bytes and the parsed fields, so about 1 KiB per entry at
// worst.
//
// A Parser is safe for concurrent use by multiple goroutines. The zero value
// and a nil *Parser are ready to use and parse every string afresh, without
// a cache, as does NewParser(0).
type Parser struct {
	seed     maphash.Seed
	shards   []cacheShard
	mask     uint64
	shardCap int
}

// cacheShard is one part of a Parser's cache. The padding keeps two shards'
// locks off one 64-byte cache line.
type cacheShard struct {
	mu sync.RWMutex
	m  map[string]UserAgent
	_  [32]byte
}

// NewParser returns a Parser that caches up to size parsed User-Agents. A
// size of zero or less disables the cache. DefaultCacheSize suits most uses.
func NewParser(size int) *Parser {
	if size <= 0 {
		return &Parser{}
	}
	n := maxShards
	for n > 1 && size/n < minShardEntries {
		n /= 2
	}
	p := &Parser{
		seed:     maphash.MakeSeed(),
		shards:   make([]cacheShard, n),
		mask:     uint64(n - 1),
		shardCap: size / n,
	}
	for i := range p.shards {
		p.shards[i].m = make(map[string]UserAgent)
	}
	return p
}

// Parse returns the parsed form of the User-Agent ua, from the cache when it
// has been seen before. Only the first MaxUALength bytes of ua are used. The
// result shares no memory with ua, so ua may be a view of a request buffer
// that is reused afterwards (as with fasthttp and Fiber).
func (p *Parser) Parse(ua string) UserAgent {
	ua = truncate(ua)
	if p == nil || len(p.shards) == 0 {
		return parse(ua)
	}

	s := &p.shards[maphash.String(p.seed, ua)&p.mask]
	s.mu.RLock()
	v, ok := s.m[ua]
	s.mu.RUnlock()
	if ok {
		return v
	}

	// Parse outside the lock, a copy of ua that the cache can own. Two
	// goroutines that miss on one string at once both parse it, and the
	// second store overwrites the first with the same value.
	key := strings.Clone(ua)
	v = parse(key)
	s.mu.Lock()
	if _, ok := s.m[key]; !ok && len(s.m) >= p.shardCap {
		clear(s.m)
	}
	s.m[key] = v
	s.mu.Unlock()
	return v
}
