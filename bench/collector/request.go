package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// visitorCount is the number of distinct visitors (anonymous id and
// ecrm_vid cookie) the generator sends as.
const visitorCount = 10_000

// siteOrigin is the page's origin, sent as the Origin header.
const siteOrigin = "https://shop.example"

// isoMillis is the tag's timestamp format, Date.prototype.toISOString.
const isoMillis = "2006-01-02T15:04:05.000Z"

// chromeUAs are Chrome desktop User-Agents, as navigator.userAgent and the
// User-Agent header carry them.
var chromeUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
}

// shopPages are the pages visited: path, title and the referrer.
var shopPages = []struct{ path, title, referrer string }{
	{"/", "Shop | Running and trail gear", "https://www.google.com/"},
	{"/shoes/running", "Running shoes | Shop", "https://shop.example/"},
	{"/shoes/running/trail-2", "Trail 2 running shoe | Shop", "https://shop.example/shoes/running"},
	{"/shoes/trail", "Trail shoes | Shop", "https://shop.example/"},
	{"/apparel/jackets", "Jackets | Shop", "https://www.google.com/"},
	{"/cart", "Your cart | Shop", "https://shop.example/shoes/running/trail-2"},
	{"/account/orders", "Your orders | Shop", "https://shop.example/cart"},
	{"/blog/choosing-running-shoes", "How to choose running shoes | Shop", "https://mail.example.com/"},
}

// visitor is one browser.
type visitor struct {
	anonymousID string // the tag's id: a UUID
	vid         string // the collector's ecrm_vid cookie: 32 hex digits
	ua          string
	sessionID   int64 // the session's start, ms since the epoch
}

// page is one page view's fixed parts, encoded once.
type page struct {
	url         string // also the Referer header
	properties  []byte // JSON object
	contextPage []byte // JSON object: context.page as the tag builds it
}

// generator builds the requests: one page event per request, as the browser
// tag sends it, with a unique messageId. It is safe for concurrent use.
type generator struct {
	prefix   string // of every messageId: unique per run
	seq      atomic.Uint64
	visitors []visitor
	pages    []page
}

func newGenerator() *generator {
	var run [8]byte
	for i := range run {
		run[i] = byte(rand.Uint32())
	}
	g := &generator{prefix: "bench-" + hex.EncodeToString(run[:]) + "-"}
	r := rand.New(rand.NewPCG(1, 2)) // the same visitors every run
	start := time.Now().Add(-time.Hour).UnixMilli()
	g.visitors = make([]visitor, visitorCount)
	for i := range g.visitors {
		var id [16]byte
		for j := range id {
			id[j] = byte(r.Uint32())
		}
		h := hex.EncodeToString(id[:])
		g.visitors[i] = visitor{
			anonymousID: h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32],
			vid:         fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()),
			ua:          chromeUAs[i%len(chromeUAs)],
			sessionID:   start + r.Int64N(3_600_000),
		}
	}
	for _, p := range shopPages {
		url := siteOrigin + p.path
		fields := map[string]string{"path": p.path, "referrer": p.referrer, "title": p.title, "url": url}
		g.pages = append(g.pages, page{url: url, properties: jsonObject(fields), contextPage: jsonObject(fields)})
	}
	return g
}

// jsonObject encodes m as JSON.stringify would: sorted keys, no HTML
// escaping.
func jsonObject(m map[string]string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err) // a map of strings always encodes
	}
	return bytes.TrimSpace(b.Bytes())
}

// pageHeaders are the headers every request shares: those Chrome sends
// with the tag's fetch (keepalive, credentials, a string body, so
// text/plain and no CORS preflight). Each request adds its Cookie,
// User-Agent and Referer.
var pageHeaders = [][2]string{
	{fasthttp.HeaderContentType, "text/plain;charset=UTF-8"},
	{fasthttp.HeaderOrigin, siteOrigin},
	{fasthttp.HeaderAccept, "*/*"},
	{fasthttp.HeaderAcceptLanguage, "en-US,en;q=0.9"},
	{fasthttp.HeaderAcceptEncoding, "gzip, deflate, br, zstd"},
	{"Sec-Ch-Ua", `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`},
	{"Sec-Ch-Ua-Mobile", "?0"},
	{"Sec-Fetch-Site", "same-site"},
	{"Sec-Fetch-Mode", "cors"},
	{"Sec-Fetch-Dest", "empty"},
}

// newRequest returns a request to t with pageHeaders.
func newRequest(t target) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + t.addr + pathBatch)
	for _, h := range pageHeaders {
		req.Header.Set(h[0], h[1])
	}
	return req
}

// A bodyField is a part of a page hit's body that differs between hits.
type bodyField int

const (
	fieldSentAt      bodyField = iota // the send time, isoMillis
	fieldMessageID                    // the generator's prefix and a counter
	fieldAnonymousID                  // the visitor's
	fieldTimestamp                    // 150 ms before the send time, isoMillis
	fieldProperties                   // the page's, a JSON object
	fieldContextPage                  // the page's, a JSON object
	fieldUserAgent                    // the visitor's
	fieldSessionID                    // the visitor's, a number
	fieldEnd                          // no field: the body ends
)

// pageBody is the layout of a page hit's body: each literal is followed
// by a field. Both load generators (fill, and wrk's Lua script) build
// bodies from it.
var pageBody = []struct {
	lit   string
	field bodyField
}{
	{`{"writeKey":"demo","sentAt":"`, fieldSentAt},
	{`","batch":[{"type":"page","messageId":"`, fieldMessageID},
	{`","anonymousId":"`, fieldAnonymousID},
	{`","timestamp":"`, fieldTimestamp},
	{`","properties":`, fieldProperties},
	{`,"context":{"page":`, fieldContextPage},
	{`,"userAgent":"`, fieldUserAgent},
	{`","locale":"en-US","library":{"name":"ecrm.js","version":"0.1.0"},"campaign":{"source":"newsletter","medium":"email"},"sessionId":`, fieldSessionID},
	{"}}]}", fieldEnd},
}

// fill sets the next page view as req's body, cookie, User-Agent and
// Referer, building the body in buf, which it returns for reuse.
func (g *generator) fill(req *fasthttp.Request, buf []byte) []byte {
	n := g.seq.Add(1)
	v := &g.visitors[(n*visitorStride)%uint64(len(g.visitors))]
	p := &g.pages[n%uint64(len(g.pages))]
	now := time.Now().UTC()
	b := buf[:0]
	for _, part := range pageBody {
		b = append(b, part.lit...)
		switch part.field {
		case fieldSentAt:
			b = now.AppendFormat(b, isoMillis)
		case fieldMessageID:
			b = strconv.AppendUint(append(b, g.prefix...), n, 10)
		case fieldAnonymousID:
			b = append(b, v.anonymousID...)
		case fieldTimestamp:
			b = now.Add(-150*time.Millisecond).AppendFormat(b, isoMillis)
		case fieldProperties:
			b = append(b, p.properties...)
		case fieldContextPage:
			b = append(b, p.contextPage...)
		case fieldUserAgent:
			b = append(b, v.ua...)
		case fieldSessionID:
			b = strconv.AppendInt(b, v.sessionID, 10)
		}
	}
	req.SetBody(b)
	req.Header.SetCookie("ecrm_vid", v.vid)
	req.Header.SetUserAgent(v.ua)
	req.Header.SetReferer(p.url)
	return b
}

// visitorStride spreads the requests over the visitors (Knuth's
// multiplicative hash): consecutive requests come from visitors far apart.
const visitorStride = 2654435761

// meanSize returns the mean size of a request body over the pages.
func (g *generator) meanSize() int {
	req, total := new(fasthttp.Request), 0
	for range g.pages {
		total += len(g.fill(req, nil))
	}
	return total / len(g.pages)
}
