package enrich

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// parseTests are real User-Agent strings and what Parse makes of them. They
// also seed FuzzParse and feed the benchmarks.
var parseTests = []struct {
	name string
	ua   string
	want UserAgent
}{
	{
		name: "chrome windows",
		ua:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "Windows", Device: DeviceDesktop},
	},
	{
		name: "safari macos",
		ua:   "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
		want: UserAgent{Browser: "Safari", Version: "17.2", OS: "macOS", Device: DeviceDesktop},
	},
	{
		name: "safari iphone",
		ua:   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
		want: UserAgent{Browser: "Safari", Version: "17.2", OS: "iOS", Device: DeviceMobile},
	},
	{
		name: "safari ipad",
		ua:   "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
		want: UserAgent{Browser: "Safari", Version: "16.6", OS: "iOS", Device: DeviceTablet},
	},
	{
		name: "chrome iphone",
		ua:   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
		want: UserAgent{Browser: "Chrome", Version: "120.0.6099.119", OS: "iOS", Device: DeviceMobile},
	},
	{
		name: "chrome android phone",
		ua:   "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
		want: UserAgent{Browser: "Chrome", Version: "120.0.6099.144", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "chrome android phone reduced",
		ua:   "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "chrome android tablet",
		ua:   "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "Android", Device: DeviceTablet},
	},
	{
		name: "firefox linux",
		ua:   "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		want: UserAgent{Browser: "Firefox", Version: "121.0", OS: "Linux", Device: DeviceDesktop},
	},
	{
		name: "firefox ubuntu",
		ua:   "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		want: UserAgent{Browser: "Firefox", Version: "121.0", OS: "Linux", Device: DeviceDesktop},
	},
	{
		name: "firefox windows",
		ua:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
		want: UserAgent{Browser: "Firefox", Version: "121.0", OS: "Windows", Device: DeviceDesktop},
	},
	{
		name: "firefox android phone",
		ua:   "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
		want: UserAgent{Browser: "Firefox", Version: "121.0", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "firefox android tablet",
		ua:   "Mozilla/5.0 (Android 14; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
		want: UserAgent{Browser: "Firefox", Version: "121.0", OS: "Android", Device: DeviceTablet},
	},
	{
		name: "edge windows",
		ua:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
		want: UserAgent{Browser: "Edge", Version: "120.0.2210.91", OS: "Windows", Device: DeviceDesktop},
	},
	{
		name: "edge android",
		ua:   "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
		want: UserAgent{Browser: "Edge", Version: "120.0.2210.115", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "samsung internet",
		ua:   "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
		want: UserAgent{Browser: "Samsung Internet", Version: "23.0", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "opera macos",
		ua:   "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
		want: UserAgent{Browser: "Opera", Version: "106.0.0.0", OS: "macOS", Device: DeviceDesktop},
	},
	{
		name: "chrome chromeos",
		ua:   "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "ChromeOS", Device: DeviceDesktop},
	},
	{
		name: "internet explorer 11",
		ua:   "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
		want: UserAgent{Browser: "Internet Explorer", Version: "11.0", OS: "Windows", Device: DeviceDesktop},
	},
	{
		name: "android webview in app",
		ua:   "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 Instagram 312.1.0.34.111 Android",
		want: UserAgent{Browser: "Android WebView", Version: "120.0.6099.144", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "facebook in-app iphone",
		ua:   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/446.0.0.27.109;FBBV/551220155;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
		want: UserAgent{Browser: "Mobile App", OS: "iOS", Device: DeviceMobile},
	},
	{
		name: "electron app is a person",
		ua:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.56 Electron/28.0.0 Safari/537.36",
		want: UserAgent{Browser: "Electron", Version: "28.0.0", OS: "Windows", Device: DeviceDesktop},
	},
	{
		name: "cubot phone is a person",
		ua:   "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "Android", Device: DeviceMobile},
	},
	{
		name: "googlebot",
		ua:   "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		want: UserAgent{Browser: "Googlebot", Version: "2.1", Device: DeviceBot, Bot: true},
	},
	{
		name: "googlebot smartphone",
		ua:   "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		want: UserAgent{Browser: "Googlebot", Version: "2.1", OS: "Android", Device: DeviceBot, Bot: true},
	},
	{
		name: "bingbot",
		ua:   "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		want: UserAgent{Browser: "bingbot", Version: "2.0", Device: DeviceBot, Bot: true},
	},
	{
		name: "bingbot chrome",
		ua:   "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
		want: UserAgent{Browser: "bingbot", Version: "2.0", Device: DeviceBot, Bot: true},
	},
	{
		name: "yandexbot",
		ua:   "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
		want: UserAgent{Browser: "YandexBot", Version: "3.0", Device: DeviceBot, Bot: true},
	},
	{
		name: "applebot",
		ua:   "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
		want: UserAgent{Browser: "Safari", Version: "17.2", OS: "macOS", Device: DeviceBot, Bot: true},
	},
	{
		name: "facebook link preview",
		ua:   "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		want: UserAgent{Browser: "facebookexternalhit", Version: "1.1", Device: DeviceBot, Bot: true},
	},
	{
		name: "headless chrome",
		ua:   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
		want: UserAgent{Browser: "Headless Chrome", Version: "120.0.6099.109", OS: "Linux", Device: DeviceBot, Bot: true},
	},
	{
		name: "phantomjs",
		ua:   "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534.34 (KHTML, like Gecko) PhantomJS/1.9.8 Safari/534.34",
		want: UserAgent{Browser: "PhantomJS", Version: "1.9.8", OS: "Windows", Device: DeviceBot, Bot: true},
	},
	{
		name: "curl",
		ua:   "curl/8.4.0",
		want: UserAgent{Browser: "curl", Version: "8.4.0", Device: DeviceBot, Bot: true},
	},
	{
		name: "python-requests",
		ua:   "python-requests/2.31.0",
		want: UserAgent{Browser: "python-requests", Version: "2.31.0", Device: DeviceBot, Bot: true},
	},
	{
		name: "go http client",
		ua:   "Go-http-client/1.1",
		want: UserAgent{Browser: "Go-http-client", Version: "1.1", Device: DeviceBot, Bot: true},
	},
	{
		name: "okhttp",
		ua:   "okhttp/4.12.0",
		want: UserAgent{Browser: "OkHttp", Version: "4.12.0", Device: DeviceBot, Bot: true},
	},
	{
		name: "empty",
		ua:   "",
		want: UserAgent{Device: DeviceBot, Bot: true},
	},
	{
		name: "blank",
		ua:   " \t ",
		want: UserAgent{Device: DeviceBot, Bot: true},
	},
	{
		name: "unknown client",
		ua:   "MyApp/1.0",
		want: UserAgent{Browser: "MyApp", Version: "1.0", Device: DeviceUnknown},
	},
}

func TestParse(t *testing.T) {
	cached := NewParser(DefaultCacheSize)
	parsers := []struct {
		name string
		p    *Parser
	}{
		{"zero", &Parser{}},
		{"nil", nil},
		{"uncached", NewParser(0)},
		{"cached", cached},
		{"cached again", cached}, // every string is in the cache by now
	}
	for _, pc := range parsers {
		for _, tc := range parseTests {
			t.Run(pc.name+"/"+tc.name, func(t *testing.T) {
				if got := pc.p.Parse(tc.ua); got != tc.want {
					t.Errorf("Parse(%q) = %+v, want %+v", tc.ua, got, tc.want)
				}
			})
		}
	}
}

func TestParseLongUA(t *testing.T) {
	chrome := parseTests[0].ua
	pad := strings.Repeat("x", MaxUALength)
	tests := []struct {
		name string
		ua   string
		want UserAgent
	}{
		{
			name: "marker past the cap is not seen",
			ua:   chrome + " " + pad + " Googlebot/2.1",
			want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "Windows", Device: DeviceDesktop},
		},
		{
			name: "marker within the cap is seen",
			ua:   chrome + " Googlebot/2.1 " + pad,
			want: UserAgent{Browser: "Chrome", Version: "120.0.0.0", OS: "Windows", Device: DeviceBot, Bot: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewParser(8).Parse(tc.ua); got != tc.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.ua, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	ascii := strings.Repeat("a", MaxUALength)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"short", "abc", "abc"},
		{"exactly the cap", ascii, ascii},
		{"one over", ascii + "b", ascii},
		{"two-byte rune across the cap", ascii[1:] + "é", ascii[1:]},
		{"four-byte rune across the cap", ascii[2:] + "😀", ascii[2:]},
		{"rune ending at the cap", ascii[2:] + "é" + "z", ascii[2:] + "é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := truncate(tc.in)
			if got != tc.want {
				t.Errorf("truncate(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if len(got) > MaxUALength || !utf8.ValidString(got) {
				t.Errorf("truncate(%q) = %q: %d bytes, valid UTF-8 %v", tc.in, got, len(got), utf8.ValidString(got))
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.ua)
	}
	for _, s := range []string{
		"Mozilla/5.0", "Mozilla/5.0 ()", "Mozilla/5.0 (", "(((", ")", "[", "/",
		"Opera/9.80 (", "Dalvik/2.1.0 (Linux; U; Android 11)", "Mozilla/5.0 (compatible; MSIE",
		"Mozilla/5.0 (Linux; U) AppleWebKit/1 (KHTML) x/1 y/2 z/3",
		"SamsungBrowser/", "; wv)", "cubot", "CuBot bot", "\xff\xfe", "Mozilla/5.0 (é; 😀) é/é",
	} {
		f.Add(s)
	}
	valid := map[string]bool{
		DeviceDesktop: true, DeviceMobile: true, DeviceTablet: true,
		DeviceBot: true, DeviceUnknown: true,
	}
	p := NewParser(64)
	f.Fuzz(func(t *testing.T, ua string) {
		got := p.Parse(ua)
		if !valid[got.Device] {
			t.Errorf("Parse(%q).Device = %q, want one of %v", ua, got.Device, valid)
		}
		if got.Bot != (got.Device == DeviceBot) {
			t.Errorf("Parse(%q) = %+v, want Bot exactly when Device is %q", ua, got, DeviceBot)
		}
		if again := p.Parse(ua); again != got {
			t.Errorf("Parse(%q) again = %+v, want %+v", ua, again, got)
		}
		if uncached := (&Parser{}).Parse(ua); uncached != got {
			t.Errorf("Parse(%q) uncached = %+v, want %+v", ua, uncached, got)
		}
		if bot := IsBot(ua); bot != got.Bot {
			t.Errorf("IsBot(%q) = %v, want %v (as Parse)", ua, bot, got.Bot)
		}
		if utf8.ValidString(ua) {
			for _, s := range []string{got.Browser, got.Version, got.OS} {
				if !utf8.ValidString(s) {
					t.Errorf("Parse(%q) = %+v, want valid UTF-8 fields", ua, got)
				}
			}
		}
	})
}

func BenchmarkParseCached(b *testing.B) {
	p := NewParser(DefaultCacheSize)
	for _, tc := range parseTests {
		p.Parse(tc.ua)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(parseTests[i%len(parseTests)].ua)
		i++
	}
}

func BenchmarkParseCachedParallel(b *testing.B) {
	p := NewParser(DefaultCacheSize)
	for _, tc := range parseTests {
		p.Parse(tc.ua)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p.Parse(parseTests[i%len(parseTests)].ua)
			i++
		}
	})
}

func BenchmarkParseUncached(b *testing.B) {
	var p Parser
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(parseTests[i%len(parseTests)].ua)
		i++
	}
}
