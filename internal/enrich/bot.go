package enrich

import (
	"bytes"
	"strings"

	"github.com/mssola/useragent"
)

// botMarkers lists lower-case substrings that mark a User-Agent as a crawler,
// a script, an HTTP library, a link-preview fetcher or a headless browser.
//
// Two entries are narrower than the obvious word, to keep real visitors out:
// "yandex.com/bots" rather than "yandex", because the Yandex search app and
// browser send "YandexSearch" from phones; and Electron is left out, because
// Slack, Discord, VS Code and other desktop apps are Electron and are used by
// people.
var botMarkers = []string{
	// Search engines, SEO tools, social and AI crawlers.
	"googlebot", "bingbot", "yandex.com/bots", "baiduspider", "duckduckbot",
	"slurp", "facebookexternalhit", "twitterbot", "linkedinbot", "ahrefs",
	"semrush", "mj12bot", "petalbot", "applebot", "gptbot", "ccbot",
	"claudebot", "bytespider", "mediapartners-google", "feedfetcher",
	// HTTP clients and scraping libraries.
	"curl/", "wget/", "python-requests", "python-urllib", "go-http-client",
	"java/", "okhttp", "libwww", "scrapy", "httpclient", "axios/",
	"node-fetch",
	// Generic words.
	"crawler", "spider", "preview",
	// Headless and automated browsers.
	"headlesschrome", "phantomjs", "slimerjs", "chrome-lighthouse",
}

// genericBot is the word "bot", which most crawlers put in their name. It is
// matched anywhere except in "cubot", a phone brand that shows up in Android
// user agents ("Android 10; CUBOT X30").
const (
	genericBot    = "bot"
	genericBotNot = "cu"
)

var genericBotBytes = []byte(genericBot)

// botPatterns is botMarkers as byte slices, without the markers that the
// generic "bot" rule already catches (a marker such as "googlebot" can only
// occur where "bot" occurs, preceded by "le"), so that IsBot scans a
// User-Agent as few times as it can.
var botPatterns = func() [][]byte {
	var ps [][]byte
	for _, m := range botMarkers {
		if i := strings.Index(m, genericBot); i >= len(genericBotNot) && m[i-len(genericBotNot):i] != genericBotNot {
			continue
		}
		ps = append(ps, []byte(m))
	}
	return ps
}()

// IsBot reports whether ua looks like it comes from a bot rather than a
// person's browser. It is true for an empty or blank User-Agent, for one that
// contains a known crawler, library or headless-browser marker (matched
// without regard to ASCII case), and for one that
// github.com/mssola/useragent classifies as a bot. Only the first
// MaxUALength bytes of ua are examined, as in Parse.
//
// The markers are checked first and cost no allocation; when none matches,
// IsBot parses ua, which costs a few microseconds. Parser.Parse caches the
// same answer in UserAgent.Bot.
func IsBot(ua string) bool {
	ua = truncate(ua)
	var buf [MaxUALength]byte
	lower := lowerASCII(&buf, ua)
	if matchBot(lower) {
		return true
	}
	return useragent.New(ua).Bot()
}

// matchBot reports whether the lower-cased User-Agent lower is blank or
// contains a bot marker.
func matchBot(lower []byte) bool {
	if len(bytes.TrimSpace(lower)) == 0 {
		return true
	}
	// The generic word first: most bots say "bot".
	for off := 0; ; {
		i := bytes.Index(lower[off:], genericBotBytes)
		if i < 0 {
			break
		}
		i += off
		if i < len(genericBotNot) || string(lower[i-len(genericBotNot):i]) != genericBotNot {
			return true
		}
		off = i + len(genericBot)
	}
	for _, p := range botPatterns {
		if bytes.Contains(lower, p) {
			return true
		}
	}
	return false
}

// lowerASCII copies s, which must be at most MaxUALength bytes long, into buf
// with ASCII letters lower-cased, and returns the copy. Other bytes, including
// those of multi-byte UTF-8 sequences, are copied unchanged; every pattern
// matched against the copy is ASCII.
func lowerASCII(buf *[MaxUALength]byte, s string) []byte {
	b := buf[:copy(buf[:], s)]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return b
}
