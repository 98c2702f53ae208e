package simulate

import (
	"math/rand/v2"
)

// weighted is a list of choices with weights, drawn in proportion to them.
type weighted[T any] struct {
	items []T
	cum   []float64
}

func newWeighted[T any](pairs ...struct {
	v T
	w float64
}) weighted[T] {
	var ws weighted[T]
	total := 0.0
	for _, p := range pairs {
		total += p.w
		ws.items = append(ws.items, p.v)
		ws.cum = append(ws.cum, total)
	}
	return ws
}

// w pairs a choice with its weight.
func w[T any](v T, weight float64) struct {
	v T
	w float64
} {
	return struct {
		v T
		w float64
	}{v, weight}
}

func (ws weighted[T]) pick(r *rand.Rand) T {
	x := r.Float64() * ws.cum[len(ws.cum)-1]
	for i, c := range ws.cum {
		if x < c {
			return ws.items[i]
		}
	}
	return ws.items[len(ws.items)-1]
}

// Device classes, as the collector's user-agent parser names them.
const (
	desktop = "desktop"
	mobile  = "mobile"
	tablet  = "tablet"
)

var deviceKinds = newWeighted(w(desktop, 45), w(mobile, 47), w(tablet, 8))

// userAgents are current browsers by device class, weighted roughly as
// they share the web.
var userAgents = map[string]weighted[string]{
	desktop: newWeighted(
		w("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 30),
		w("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 12),
		w("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15", 10),
		w("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0", 10),
		w("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", 7),
		w("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0", 2),
		w("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", 2),
		w("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 2),
	),
	mobile: newWeighted(
		w("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 40),
		w("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36", 40),
		w("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36", 8),
		w("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/138.0.7204.119 Mobile/15E148 Safari/604.1", 6),
		w("Mozilla/5.0 (Android 14; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0", 3),
	),
	tablet: newWeighted(
		w("Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", 60),
		w("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36", 40),
	),
}

// botAgents are crawlers that run the tag: search engines render pages,
// and headless browsers are scrapers and monitoring.
var botAgents = newWeighted(
	w("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.7204.183 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 40),
	w("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/138.0.7204.183 Safari/537.36", 20),
	w("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/138.0.0.0 Safari/537.36", 25),
	w("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", 15),
)

var locales = newWeighted(
	w("en-US", 25), w("de-DE", 18), w("fr-FR", 14), w("en-GB", 12), w("es-ES", 8),
	w("it-IT", 7), w("nl-NL", 6), w("pl-PL", 4), w("sv-SE", 3), w("pt-BR", 3),
)

// Channels a session comes from. The profiler derives the same names
// from the referrer and UTM parameters this package sends.
const (
	chDirect    = "direct"
	chSearch    = "search"
	chSocial    = "social"
	chPaid      = "paid"
	chEmail     = "email"
	chReferral  = "referral"
	chAffiliate = "campaign"
)

// firstChannels is how new visitors find the shop; returnChannels how
// known ones come back (email only for those who get the newsletter).
var (
	firstChannels = newWeighted(
		w(chSearch, 33), w(chDirect, 22), w(chPaid, 20), w(chSocial, 15),
		w(chReferral, 7), w(chAffiliate, 3),
	)
	returnChannels = newWeighted(
		w(chDirect, 40), w(chSearch, 22), w(chEmail, 20), w(chSocial, 8),
		w(chPaid, 7), w(chReferral, 3),
	)
)

var (
	searchReferrers = newWeighted(
		w("https://www.google.com/", 75), w("https://www.bing.com/", 10), w("https://duckduckgo.com/", 8),
		w("https://www.ecosia.org/", 4), w("https://search.yahoo.com/", 3),
	)
	socialReferrers = newWeighted(
		w("https://www.instagram.com/", 35), w("https://l.facebook.com/", 25), w("https://www.pinterest.com/", 15),
		w("https://t.co/", 10), w("https://www.reddit.com/", 8), w("https://www.tiktok.com/", 7),
	)
	referralReferrers = newWeighted(
		w("https://blog.example.org/best-everyday-gear", 40), w("https://forum.example.net/t/which-trail-shoes", 30),
		w("https://www.reviews.example.com/roundup", 30),
	)
	affiliates     = newWeighted(w("cashback-club", 50), w("deal-finder", 30), w("style-blogger", 20))
	newsletters    = []string{"new-arrivals", "weekly-picks", "back-in-stock", "season-sale", "members-only"}
	paidSearchAds  = []string{"brand", "generic", "shopping"}
	paidSocialAds  = []string{"prospecting", "retargeting", "lookalike"}
	paidSocialNets = newWeighted(w("facebook", 55), w("instagram", 45))
)

// Landing pages.
const (
	landHome = iota
	landCategory
	landProduct
	landSearch
)

// landings says where sessions from each channel begin.
var landings = map[string]weighted[int]{
	chDirect:    newWeighted(w(landHome, 70), w(landProduct, 20), w(landCategory, 10)),
	chSearch:    newWeighted(w(landProduct, 55), w(landCategory, 30), w(landHome, 15)),
	chSocial:    newWeighted(w(landProduct, 70), w(landCategory, 20), w(landHome, 10)),
	chPaid:      newWeighted(w(landProduct, 50), w(landCategory, 35), w(landHome, 15)),
	chEmail:     newWeighted(w(landProduct, 45), w(landCategory, 35), w(landHome, 20)),
	chReferral:  newWeighted(w(landProduct, 75), w(landCategory, 15), w(landHome, 10)),
	chAffiliate: newWeighted(w(landHome, 50), w(landProduct, 30), w(landCategory, 20)),
}

var (
	firstNames = []string{"anna", "ben", "chloe", "david", "emma", "felix", "greta", "hugo", "ines", "jonas",
		"karin", "leo", "mia", "noah", "olivia", "paul", "quinn", "rosa", "sam", "tara",
		"ugo", "vera", "will", "xenia", "yusuf", "zoe", "lucas", "marie", "nils", "sofia"}
	lastNames = []string{"mueller", "martin", "rossi", "garcia", "smith", "dubois", "nowak", "jansen", "berg", "silva",
		"schmidt", "bernard", "ferrari", "lopez", "jones", "moreau", "kowalski", "visser", "lind", "costa"}
	mailDomains = []string{"example.com", "example.net", "example.org"}
	// searchMisses are queries the catalog answers with nothing.
	searchMisses = []string{"gift card", "red dress", "kids", "umbrella", "swimwear", "xl"}
)
