package enrich

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

func TestNewParser(t *testing.T) {
	tests := []struct {
		size       int
		wantShards int
		wantCap    int
	}{
		{-1, 0, 0},
		{0, 0, 0},
		{1, 1, 1},
		{100, 1, 100},
		{128, 2, 64},
		{1000, 8, 125},
		{DefaultCacheSize, 32, 128},
		{100000, 32, 3125},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			p := NewParser(tc.size)
			if len(p.shards) != tc.wantShards || p.shardCap != tc.wantCap {
				t.Errorf("NewParser(%d) = %d shards of %d, want %d shards of %d",
					tc.size, len(p.shards), p.shardCap, tc.wantShards, tc.wantCap)
			}
			if total := len(p.shards) * p.shardCap; total > max(tc.size, 0) {
				t.Errorf("NewParser(%d) holds up to %d entries, want at most %d", tc.size, total, tc.size)
			}
		})
	}
}

// cacheLen returns the number of entries in p's cache.
func cacheLen(p *Parser) int {
	n := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// syntheticUA returns the i-th of many distinct browser User-Agents.
func syntheticUA(i int) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.%d.0 Safari/537.36", i)
}

func TestParserBounded(t *testing.T) {
	for _, size := range []int{1, 10, 200, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			p := NewParser(size)
			for i := range 10 * size {
				p.Parse(syntheticUA(i))
				if n := cacheLen(p); n > size {
					t.Fatalf("NewParser(%d) after %d strings holds %d entries, want at most %d", size, i+1, n, size)
				}
			}
		})
	}
}

func TestParserConcurrent(t *testing.T) {
	uas := make([]string, 0, 300)
	for _, tc := range parseTests {
		uas = append(uas, tc.ua)
	}
	for i := len(uas); i < cap(uas); i++ {
		uas = append(uas, syntheticUA(i))
	}
	want := make(map[string]UserAgent, len(uas))
	for _, ua := range uas {
		want[ua] = parse(ua)
	}

	// A cache smaller than the set of strings, so that shards keep
	// resetting while other goroutines read them.
	p := NewParser(128)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 2000 {
				ua := uas[(g*31+i*7)%len(uas)]
				if got := p.Parse(ua); got != want[ua] {
					t.Errorf("Parse(%q) = %+v, want %+v", ua, got, want[ua])
					return
				}
			}
		})
	}
	wg.Wait()
	if n := cacheLen(p); n > 128 {
		t.Errorf("NewParser(128) holds %d entries, want at most %d", n, 128)
	}
}

// TestParserOwnsMemory checks that neither the result nor the cache keeps
// the caller's string: fasthttp and Fiber hand out strings that view a buffer
// reused by the next request.
func TestParserOwnsMemory(t *testing.T) {
	// Samsung Internet, because its version is cut out of the string by
	// this package rather than copied by github.com/mssola/useragent.
	const ua = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
	want := UserAgent{Browser: "Samsung Internet", Version: "23.0", OS: "Android", Device: DeviceMobile}
	for _, size := range []int{0, 16} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			p := NewParser(size)
			buf := []byte(ua)
			got := p.Parse(unsafe.String(&buf[0], len(buf)))
			for i := range buf {
				buf[i] = 'x'
			}
			if got != want {
				t.Errorf("Parse(%q) = %+v after the caller's buffer changed, want %+v", ua, got, want)
			}
			for i := range p.shards {
				for k := range p.shards[i].m {
					if k != ua {
						t.Errorf("Parse(%q) cached under %q after the caller's buffer changed", ua, k)
					}
				}
			}
		})
	}
}
