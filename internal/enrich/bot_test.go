package enrich

import (
	"strings"
	"testing"
)

func TestIsBot(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want bool
	}{
		// People.
		{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", false},
		{"safari macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", false},
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", false},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", false},
		{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", false},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", false},
		{"yandex browser", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 YaBrowser/24.1.0.0 Safari/537.36", false},
		{"yandex search app", "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.230 YandexSearch/23.124 Mobile Safari/537.36", false},
		{"electron app", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.56 Electron/28.0.0 Safari/537.36", false},
		{"cubot phone", "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false},
		{"unknown app", "MyApp/1.0", false},
		// Bots.
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", true},
		{"gptbot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)", true},
		{"adsense", "Mediapartners-Google", true},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36", true},
		{"lighthouse", "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", true},
		{"curl", "curl/8.4.0", true},
		{"python-requests", "python-requests/2.31.0", true},
		{"java", "Java/17.0.9", true},
		{"apache httpclient", "Apache-HttpClient/4.5.14 (Java/17.0.9)", true},
		{"slack link preview", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", true},
		{"cubot and a bot", "Mozilla/5.0 (Linux; Android 10; CUBOT X30) Chrome/120.0.0.0 Mobile Safari/537.36 SomeBot/1.0", true},
		{"site in comment only", "Mozilla/5.0 (compatible; Example/1.0; +https://example.com/about)", true},
		{"empty", "", true},
		{"blank", "  ", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsBot(tc.ua); got != tc.want {
				t.Errorf("IsBot(%q) = %v, want %v", tc.ua, got, tc.want)
			}
		})
	}
}

// TestIsBotMarkers checks that every documented marker is found in any
// letter case, including those botPatterns leaves to the generic rule.
func TestIsBotMarkers(t *testing.T) {
	for _, m := range botMarkers {
		for _, ua := range []string{
			"Mozilla/5.0 (compatible; " + m + "1.0)",
			"Mozilla/5.0 (compatible; " + strings.ToUpper(m) + "1.0)",
			"Mozilla/5.0 (Linux; Android 10; CUBOT X30) " + m,
		} {
			t.Run(m, func(t *testing.T) {
				if got := IsBot(ua); !got {
					t.Errorf("IsBot(%q) = %v, want %v", ua, got, true)
				}
			})
		}
	}
}

func TestIsBotAllocs(t *testing.T) {
	ua := "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	if n := testing.AllocsPerRun(100, func() { IsBot(ua) }); n != 0 {
		t.Errorf("IsBot(%q) allocates %v times, want %v", ua, n, 0)
	}
}

func BenchmarkIsBot(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"marker", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
		{"person", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				IsBot(bc.ua)
			}
		})
	}
}

func BenchmarkMatchBot(b *testing.B) {
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	b.ReportAllocs()
	for b.Loop() {
		var buf [MaxUALength]byte
		matchBot(lowerASCII(&buf, ua))
	}
}
