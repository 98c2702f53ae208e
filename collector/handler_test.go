package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/web"
)

// testNow is the collector's clock in these tests.
var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	hitsTopic   = "hits"
	shopKey     = "wk-shop"
	adminToken  = "tok-0123456789abcdef"
	knownVID    = "0123456789abcdef0123456789abcdef"
	chromeUA    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	googlebotUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	rawIP       = "203.0.113.77"
	anonIP      = "203.0.113.0"
)

// shop is the site most tests send hits for: no origin, consent or
// tracking-signal rules.
var shop = site.Site{ID: "shop", WriteKey: shopKey}

// Events as a tag or a server library sends them.
const (
	pageJSON     = `{"type":"page","anonymousId":"a-1","name":"Home"}`
	trackJSON    = `{"type":"track","anonymousId":"a-1","event":"Product Viewed","properties":{"product_id":"sku-1"}}`
	badTrackJSON = `{"type":"track","anonymousId":"a-1"}` // no event name
)

// fakePublisher records what the collector publishes. PublishFn, when set,
// runs first; an error from it is returned and nothing is recorded.
type fakePublisher struct {
	PublishFn func(ctx context.Context, msgs ...kafka.Message) error

	mu   sync.Mutex
	msgs []kafka.Message
}

var _ Publisher = (*fakePublisher)(nil)

func (p *fakePublisher) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if p.PublishFn != nil {
		if err := p.PublishFn(ctx, msgs...); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// published returns the messages published so far.
func (p *fakePublisher) published() []kafka.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.msgs)
}

// harness is a collector mounted on an ecrm Fiber app, publishing to a fake.
type harness struct {
	app *fiber.App
	col *Collector
	reg *site.Registry
	pub *fakePublisher
}

// mustCollector returns a collector for sites on an app that trusts no
// proxy, with its clock stopped at testNow.
func mustCollector(tb testing.TB, sites ...site.Site) *harness {
	tb.Helper()
	return mustCollectorBehind(tb, nil, sites...)
}

// mustCollectorBehind is mustCollector on an app that believes
// X-Forwarded-For and X-Forwarded-Proto from trustedProxies. app.Test
// connects from 0.0.0.0.
func mustCollectorBehind(tb testing.TB, trustedProxies []string, sites ...site.Site) *harness {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(tb.Output(), nil))
	reg := &site.Registry{}
	for _, s := range sites {
		if err := reg.Put(s); err != nil {
			tb.Fatalf("Registry.Put(%+v) = %v", s, err)
		}
	}
	pub := &fakePublisher{}
	col := New(Config{}, reg, pub, hitsTopic, logger, prometheus.NewRegistry())
	col.now = func() time.Time { return testNow }
	app := web.NewApp(logger, trustedProxies)
	app.Use(panicGuard(tb))
	col.Routes(app)
	return &harness{app: app, col: col, reg: reg, pub: pub}
}

// panicGuard turns a handler panic into a test failure instead of a crash
// of the test binary. Production mounts no recover middleware, so a panic
// there ends the process.
func panicGuard(tb testing.TB) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				tb.Errorf("%s %s panicked: %v (no recover middleware in production: the process would crash)", c.Method(), clip(c.OriginalURL()), r)
				err = fiber.ErrInternalServerError
			}
		}()
		return c.Next()
	}
}

// result is an answer of the app, read in full.
type result struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// cookie returns the Set-Cookie of the given name, or nil.
func (r result) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// do sends req to the app and reads the whole answer.
func (h *harness) do(tb testing.TB, req *http.Request) result {
	tb.Helper()
	res, err := h.app.Test(req, -1)
	if err != nil {
		tb.Fatalf("%s %s: app.Test: %v", req.Method, clip(req.URL.RequestURI()), clip(err.Error()))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", req.Method, clip(req.URL.RequestURI()), err)
	}
	return result{status: res.StatusCode, header: res.Header, body: body, cookies: res.Cookies()}
}

// serve runs the app on a loopback port until the test ends and returns
// its base URL. app.Test cannot show what the server answers to a request
// it refuses while reading it (body or headers too large): it returns the
// read error instead of the response.
func (h *harness) serve(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.app.Listener(ln)
	}()
	tb.Cleanup(func() {
		_ = h.app.ShutdownWithTimeout(5 * time.Second)
		<-done
	})
	return "http://" + ln.Addr().String()
}

// doNet sends req over the network to base, from serve.
func doNet(tb testing.TB, base string, req *http.Request) result {
	tb.Helper()
	u, err := url.Parse(base + req.URL.RequestURI())
	if err != nil {
		tb.Fatal(err)
	}
	req.URL, req.Host, req.RequestURI = u, u.Host, ""
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, clip(u.Path), err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", req.Method, clip(u.Path), err)
	}
	return result{status: res.StatusCode, header: res.Header, body: body, cookies: res.Cookies()}
}

// newRequest returns a request for the app. POST and PUT bodies are sent as
// application/json unless header says otherwise; header holds name, value
// pairs, and an empty value removes the header.
func newRequest(method, target, body string, header ...string) *http.Request {
	var r io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// basic returns an Authorization header value with key as Basic-auth user.
func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// batch returns a /v1/batch body holding events, with writeKey unless empty.
func batch(writeKey string, events ...string) string {
	var b strings.Builder
	b.WriteString("{")
	if writeKey != "" {
		fmt.Fprintf(&b, `"writeKey":%q,`, writeKey)
	}
	b.WriteString(`"batch":[` + strings.Join(events, ",") + `]}`)
	return b.String()
}

// pages returns n valid page events.
func pages(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"type":"page","anonymousId":"a-%d","name":"p%d"}`, i, i)
	}
	return out
}

// postBatch sends body to /v1/batch with header pairs.
func (h *harness) postBatch(tb testing.TB, body string, header ...string) result {
	tb.Helper()
	return h.do(tb, newRequest(http.MethodPost, "/v1/batch", body, header...))
}

// gzipped returns s compressed with gzip.
func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// mustResponse decodes an intake answer.
func mustResponse(tb testing.TB, what string, r result) Response {
	tb.Helper()
	checkJSON(tb, what, r)
	var res Response
	if err := json.Unmarshal(r.body, &res); err != nil {
		tb.Fatalf("%s = %s: body is not an intake response: %v", what, r, err)
	}
	return res
}

// checkJSON fails the test unless r says its body is JSON.
func checkJSON(tb testing.TB, what string, r result) {
	tb.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s = %s: Content-Type %q, want application/json", what, r, ct)
	}
}

// errorMessage returns the "error" string of a JSON error answer and fails
// the test when the body is not one.
func errorMessage(tb testing.TB, what string, r result) string {
	tb.Helper()
	checkJSON(tb, what, r)
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		tb.Errorf("%s = %s: body is not JSON: %v", what, r, err)
		return ""
	}
	msg, ok := body["error"].(string)
	if !ok || msg == "" {
		tb.Errorf("%s = %s: want a JSON body with an \"error\" string", what, r)
	}
	return msg
}

// checkClientError fails the test unless r is a 4xx with a JSON error.
func checkClientError(tb testing.TB, what string, r result) {
	tb.Helper()
	if r.status < 400 || r.status >= 500 {
		tb.Errorf("%s = %s, want a 4xx", what, r)
	}
	errorMessage(tb, what, r)
}

// rejectedIndexes returns the sorted indexes of res's rejections and fails
// the test on a rejection without a message.
func rejectedIndexes(tb testing.TB, what string, res Response) []int {
	tb.Helper()
	idx := make([]int, 0, len(res.Rejected))
	for _, r := range res.Rejected {
		if r.Message == "" {
			tb.Errorf("%s: rejection of event %d has no message", what, r.Index)
		}
		idx = append(idx, r.Index)
	}
	slices.Sort(idx)
	return idx
}

// mustEvents decodes published hits.
func mustEvents(tb testing.TB, msgs []kafka.Message) []event.Event {
	tb.Helper()
	out := make([]event.Event, 0, len(msgs))
	for _, m := range msgs {
		if m.Topic != hitsTopic {
			tb.Errorf("hit published to topic %q, want %q", m.Topic, hitsTopic)
		}
		var e event.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			tb.Fatalf("published value %q is not an event: %v", m.Value, err)
		}
		out = append(out, e)
	}
	return out
}

// mustOne returns the only hit published and its message.
func (h *harness) mustOne(tb testing.TB, what string) (event.Event, kafka.Message) {
	tb.Helper()
	msgs := h.pub.published()
	if len(msgs) != 1 {
		tb.Fatalf("%s: published %d hits, want 1", what, len(msgs))
	}
	return mustEvents(tb, msgs)[0], msgs[0]
}

func isID(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 32 && err == nil
}

func TestBatch(t *testing.T) {
	fixture, err := os.ReadFile("testdata/batch.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		body         string
		header       []string
		wantStatus   int
		wantAccepted int
		wantRejected []int
	}{
		{name: "tag batch, key as Basic-auth user", body: string(fixture), header: []string{"Authorization", basic(shopKey, "")},
			wantStatus: 200, wantAccepted: 3},
		{name: "key as Basic-auth user with a password", body: batch("", pageJSON), header: []string{"Authorization", basic(shopKey, "ignored")},
			wantStatus: 200, wantAccepted: 1},
		{name: "key in body", body: batch(shopKey, pageJSON, trackJSON), wantStatus: 200, wantAccepted: 2},
		{name: "Basic-auth user wins over body key", body: batch("wk-unknown", pageJSON), header: []string{"Authorization", basic(shopKey, "")},
			wantStatus: 200, wantAccepted: 1},
		{name: "text/plain (sendBeacon)", body: batch(shopKey, pageJSON), header: []string{"Content-Type", "text/plain;charset=UTF-8"},
			wantStatus: 200, wantAccepted: 1},
		{name: "no content type", body: batch(shopKey, pageJSON), header: []string{"Content-Type", ""},
			wantStatus: 200, wantAccepted: 1},
		{name: "500 events", body: batch(shopKey, pages(500)...), wantStatus: 200, wantAccepted: 500},
		{name: "gzip body (Content-Encoding)", body: gzipped(batch(shopKey, pageJSON, trackJSON)), header: []string{"Content-Encoding", "gzip"},
			wantStatus: 200, wantAccepted: 2},

		{name: "unknown key in body", body: batch("wk-unknown", pageJSON), wantStatus: 401},
		{name: "unknown key as Basic-auth user", body: batch("", pageJSON), header: []string{"Authorization", basic("wk-unknown", "")}, wantStatus: 401},
		{name: "missing key", body: batch("", pageJSON), wantStatus: 401},
		{name: "bearer token is no write key", body: batch("", pageJSON), header: []string{"Authorization", "Bearer " + shopKey}, wantStatus: 401},

		{name: "malformed JSON", body: `{"writeKey":"wk-shop","batch":[` + pageJSON, wantStatus: 400},
		{name: "trailing garbage", body: batch(shopKey, pageJSON) + "}", wantStatus: 400},
		{name: "array, not an object", body: "[" + pageJSON + "]", wantStatus: 400},
		{name: "string, not an object", body: `"hello"`, wantStatus: 400},
		{name: "null", body: `null`, wantStatus: 400},
		{name: "empty body", body: "", wantStatus: 400},
		{name: "blank body", body: " \n\t ", wantStatus: 400},
		{name: "no batch array", body: `{"writeKey":"wk-shop"}`, wantStatus: 400},
		{name: "batch is null", body: `{"writeKey":"wk-shop","batch":null}`, wantStatus: 400},
		{name: "batch is an object", body: `{"writeKey":"wk-shop","batch":` + pageJSON + `}`, wantStatus: 400},
		{name: "sentAt not RFC 3339", body: `{"writeKey":"wk-shop","sentAt":"yesterday","batch":[` + pageJSON + `]}`, wantStatus: 400},
		{name: "501 events", body: batch(shopKey, pages(501)...), wantStatus: 400},

		{name: "valid and invalid", body: batch(shopKey, pageJSON, badTrackJSON, trackJSON, `42`, `{"type":"page"}`),
			wantStatus: 200, wantAccepted: 2, wantRejected: []int{1, 3, 4}},
		{name: "all invalid", body: batch(shopKey, badTrackJSON, `{"type":"nope","anonymousId":"a-1"}`),
			wantStatus: 400, wantRejected: []int{0, 1}},
		{name: "timestamp before 2000", body: batch(shopKey, pageJSON, `{"type":"page","anonymousId":"a-1","timestamp":"1999-12-31T23:59:59Z"}`),
			wantStatus: 200, wantAccepted: 1, wantRejected: []int{1}},
		{name: "timestamp a week ahead of sentAt", body: batch(shopKey,
			`{"type":"page","anonymousId":"a-1","timestamp":"2024-05-08T12:00:00Z","sentAt":"2024-05-01T12:00:00Z"}`, pageJSON),
			wantStatus: 200, wantAccepted: 1, wantRejected: []int{0}},
		{name: "timestamp not RFC 3339", body: batch(shopKey, pageJSON, `{"type":"page","anonymousId":"a-1","timestamp":"yesterday"}`),
			wantStatus: 200, wantAccepted: 1, wantRejected: []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			r := h.postBatch(t, tc.body, tc.header...)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, r, tc.wantStatus)
			}
			if r.status != 200 {
				checkClientError(t, what, r)
			}
			res := mustResponse(t, what, r)
			if res.Accepted != tc.wantAccepted {
				t.Errorf("%s = %s: accepted %d, want %d", what, r, res.Accepted, tc.wantAccepted)
			}
			if got := rejectedIndexes(t, what, res); !slices.Equal(got, tc.wantRejected) && len(got)+len(tc.wantRejected) > 0 {
				t.Errorf("%s = %s: rejected %v, want %v", what, r, got, tc.wantRejected)
			}
			if n := len(h.pub.published()); n != tc.wantAccepted {
				t.Errorf("%s: published %d hits, want %d", what, n, tc.wantAccepted)
			}
		})
	}
}

// TestBatchFixture checks the tag's batch arrives whole and in order.
func TestBatchFixture(t *testing.T) {
	fixture, err := os.ReadFile("testdata/batch.json")
	if err != nil {
		t.Fatal(err)
	}
	h := mustCollector(t, shop)
	r := h.postBatch(t, string(fixture), "Authorization", basic(shopKey, ""))
	if r.status != 200 {
		t.Fatalf("POST /v1/batch(testdata/batch.json) = %s, want 200", r)
	}
	events := mustEvents(t, h.pub.published())
	var got []string
	for _, e := range events {
		got = append(got, e.Type+"/"+e.MessageID)
		if lib, _ := e.Context["library"].(map[string]any); lib["name"] != "ecrm.js" {
			t.Errorf("event %s: context.library = %v, want the batch's context merged in", e.MessageID, e.Context["library"])
		}
	}
	want := []string{"page/m-page-1", "track/m-track-1", "identify/m-identify-1"}
	if !slices.Equal(got, want) {
		t.Errorf("published %q, want %q", got, want)
	}
	if len(events) == 3 {
		if events[1].Properties["product_id"] != "sku-42" {
			t.Errorf("Product Viewed properties = %v, want product_id sku-42", events[1].Properties)
		}
		if events[2].Traits["email"] != "ada@example.com" {
			t.Errorf("identify traits = %v, want the email", events[2].Traits)
		}
	}
}

func TestSingle(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		body       string
		header     []string
		wantStatus int
	}{
		{"track", "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"Signed Up"}`, nil, 200},
		{"page", "/v1/page", `{"writeKey":"wk-shop","anonymousId":"a-1","name":"Home"}`, nil, 200},
		{"identify", "/v1/identify", `{"writeKey":"wk-shop","userId":"u-1","traits":{"plan":"pro"}}`, nil, 200},
		{"identify by traits only", "/v1/identify", `{"writeKey":"wk-shop","anonymousId":"a-1","traits":{"email":"ada@example.com"}}`, nil, 200},
		{"alias", "/v1/alias", `{"writeKey":"wk-shop","previousId":"a-1","userId":"u-1"}`, nil, 200},
		{"screen", "/v1/screen", `{"writeKey":"wk-shop","anonymousId":"a-1","name":"Cart"}`, nil, 200},
		{"group", "/v1/group", `{"writeKey":"wk-shop","userId":"u-1","groupId":"g-1"}`, nil, 200},
		{"type in body matches", "/v1/track", `{"writeKey":"wk-shop","type":"track","anonymousId":"a-1","event":"Signed Up"}`, nil, 200},
		{"key as Basic-auth user", "/v1/page", `{"anonymousId":"a-1"}`, []string{"Authorization", basic(shopKey, "")}, 200},
		{"text/plain", "/v1/page", `{"writeKey":"wk-shop","anonymousId":"a-1"}`, []string{"Content-Type", "text/plain"}, 200},

		{"type mismatch", "/v1/track", `{"writeKey":"wk-shop","type":"page","anonymousId":"a-1","event":"x"}`, nil, 400},
		{"track without event", "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1"}`, nil, 400},
		{"track with blank event", "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"  "}`, nil, 400},
		{"alias without previousId", "/v1/alias", `{"writeKey":"wk-shop","userId":"u-1"}`, nil, 400},
		{"alias without userId", "/v1/alias", `{"writeKey":"wk-shop","previousId":"a-1","anonymousId":"a-1"}`, nil, 400},
		{"group without groupId", "/v1/group", `{"writeKey":"wk-shop","userId":"u-1"}`, nil, 400},
		{"identify without userId or traits", "/v1/identify", `{"writeKey":"wk-shop","anonymousId":"a-1"}`, nil, 400},
		{"no ids", "/v1/page", `{"writeKey":"wk-shop","name":"Home"}`, nil, 400},
		{"timestamp before 2000", "/v1/page", `{"writeKey":"wk-shop","anonymousId":"a-1","timestamp":"1970-01-01T00:00:00Z"}`, nil, 400},
		{"malformed", "/v1/track", `{"writeKey":"wk-shop",`, nil, 400},
		{"not an object", "/v1/track", `["track"]`, nil, 400},
		{"empty", "/v1/track", ``, nil, 400},
		{"properties not an object", "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"x","properties":[1]}`, nil, 400},
		{"unknown key", "/v1/track", `{"writeKey":"wk-unknown","anonymousId":"a-1","event":"Signed Up"}`, nil, 401},
		{"missing key", "/v1/track", `{"anonymousId":"a-1","event":"Signed Up"}`, nil, 401},
		{"unknown key, invalid event", "/v1/track", `{"writeKey":"wk-unknown","anonymousId":"a-1"}`, nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			r := h.do(t, newRequest(http.MethodPost, tc.path, tc.body, tc.header...))
			what := fmt.Sprintf("POST %s(%s)", tc.path, tc.name)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, r, tc.wantStatus)
			}
			msgs := h.pub.published()
			if r.status != 200 {
				checkClientError(t, what, r)
				if len(msgs) != 0 {
					t.Errorf("%s: published %d hits, want none", what, len(msgs))
				}
				return
			}
			if res := mustResponse(t, what, r); res.Accepted != 1 || len(res.Rejected) != 0 {
				t.Errorf("%s = %s, want accepted 1, rejected none", what, r)
			}
			e, _ := h.mustOne(t, what)
			if want := strings.TrimPrefix(tc.path, "/v1/"); e.Type != want {
				t.Errorf("%s: published type %q, want %q", what, e.Type, want)
			}
		})
	}
}

func TestPixel(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		header     []string
		wantStatus int
		check      func(t *testing.T, e event.Event, m kafka.Message)
	}{
		{name: "track", target: "/v1/pixel/track?writeKey=wk-shop&event=Email+Opened&anonymousId=a-1&messageId=m-px", wantStatus: 200,
			check: func(t *testing.T, e event.Event, m kafka.Message) {
				if e.Type != "track" || e.Event != "Email Opened" || e.AnonymousID != "a-1" || e.MessageID != "m-px" {
					t.Errorf("event = %+v, want track Email Opened by a-1, message m-px", e)
				}
			}},
		{name: "page", target: "/v1/pixel/page?writeKey=wk-shop&name=Home&userId=u-1", wantStatus: 200,
			check: func(t *testing.T, e event.Event, m kafka.Message) {
				if e.Type != "page" || e.Name != "Home" || e.UserID != "u-1" || string(m.Key) != "u-1" {
					t.Errorf("event = %+v key %q, want page Home by u-1 keyed u-1", e, m.Key)
				}
			}},
		{name: "properties as JSON and properties.x", target: `/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&properties=%7B%22a%22%3A1%2C%22b%22%3A%22two%22%7D&properties.x=y&properties.campaign_id=c-9`,
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				want := map[string]any{"a": 1.0, "b": "two", "x": "y", "campaign_id": "c-9"}
				if fmt.Sprint(e.Properties) != fmt.Sprint(want) {
					t.Errorf("properties = %v, want %v", e.Properties, want)
				}
			}},
		{name: "properties null and properties.x", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&properties=null&properties.x=y",
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				if e.Properties["x"] != "y" {
					t.Errorf("properties = %v, want x=y", e.Properties)
				}
			}},
		{name: "utm parameters", target: "/v1/pixel/page?writeKey=wk-shop&anonymousId=a-1&utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=shoes&utm_content=hero",
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				want := map[string]any{"source": "newsletter", "medium": "email", "name": "spring", "term": "shoes", "content": "hero"}
				if got := e.Context["campaign"]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("context.campaign = %v, want %v", got, want)
				}
			}},
		{name: "url and referrer", target: "/v1/pixel/page?writeKey=wk-shop&anonymousId=a-1&url=https%3A%2F%2Fshop.example%2Fa&referrer=https%3A%2F%2Fmail.example%2F",
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				want := map[string]any{"url": "https://shop.example/a", "referrer": "https://mail.example/"}
				if got := e.Context["page"]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("context.page = %v, want %v", got, want)
				}
			}},
		{name: "url from Referer", target: "/v1/pixel/page?writeKey=wk-shop&anonymousId=a-1", header: []string{"Referer", "https://shop.example/b"},
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				if page, _ := e.Context["page"].(map[string]any); page["url"] != "https://shop.example/b" {
					t.Errorf("context.page = %v, want url from Referer", e.Context["page"])
				}
			}},
		{name: "timestamp", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&timestamp=2024-05-01T11%3A00%3A00Z",
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				if want := testNow.Add(-time.Hour); !e.Timestamp.Equal(want) {
					t.Errorf("timestamp = %v, want %v", e.Timestamp, want)
				}
			}},
		{name: "no ids: the visitor cookie's id", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened", header: []string{"Cookie", "ecrm_vid=" + knownVID},
			wantStatus: 200, check: func(t *testing.T, e event.Event, m kafka.Message) {
				if e.VisitorID != knownVID || e.AnonymousID != "" || e.UserID != "" || string(m.Key) != knownVID {
					t.Errorf("event = %+v key %q, want visitor %s as the only id and the key", e, m.Key, knownVID)
				}
			}},
		{name: "no ids, no cookie: a new visitor id", target: "/v1/pixel/page?writeKey=wk-shop", wantStatus: 200,
			check: func(t *testing.T, e event.Event, m kafka.Message) {
				if !isID(e.VisitorID) || string(m.Key) != e.VisitorID {
					t.Errorf("visitor id %q key %q, want a new 32-hex id as the key", e.VisitorID, m.Key)
				}
			}},

		{name: "unknown key", target: "/v1/pixel/track?writeKey=wk-unknown&event=Opened&anonymousId=a-1", wantStatus: 401},
		{name: "missing key", target: "/v1/pixel/track?event=Opened&anonymousId=a-1", wantStatus: 401},
		{name: "track without event", target: "/v1/pixel/track?writeKey=wk-shop&anonymousId=a-1", wantStatus: 400},
		{name: "timestamp not RFC 3339", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&timestamp=yesterday", wantStatus: 400},
		{name: "timestamp before 2000", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&timestamp=1999-01-01T00%3A00%3A00Z", wantStatus: 400},
		{name: "properties not JSON", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&properties=%7Bnope", wantStatus: 400},
		{name: "properties a JSON array", target: "/v1/pixel/track?writeKey=wk-shop&event=Opened&anonymousId=a-1&properties=%5B1%5D", wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			r := h.do(t, newRequest(http.MethodGet, tc.target, "", tc.header...))
			what := fmt.Sprintf("GET /v1/pixel(%s)", tc.name)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, r, tc.wantStatus)
			}
			if r.status != 200 {
				checkClientError(t, what, r)
				if n := len(h.pub.published()); n != 0 {
					t.Errorf("%s: published %d hits, want none", what, n)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "image/gif" {
				t.Errorf("%s: Content-Type %q, want image/gif", what, ct)
			}
			if !bytes.Equal(r.body, gif) || !bytes.HasPrefix(r.body, []byte("GIF89a")) {
				t.Errorf("%s: body %q, want the 1x1 GIF", what, r.body)
			}
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
			}
			e, m := h.mustOne(t, what)
			if tc.check != nil {
				tc.check(t, e, m)
			}
		})
	}
}

func TestEnrichReceiveTimeSiteAndMessageID(t *testing.T) {
	h := mustCollector(t, shop)
	r := h.postBatch(t, batch(shopKey,
		`{"type":"page","anonymousId":"a-1","messageId":"m-given"}`,
		`{"type":"page","anonymousId":"a-1"}`,
		`{"type":"page","anonymousId":"a-1"}`))
	if r.status != 200 {
		t.Fatalf("POST /v1/batch = %s, want 200", r)
	}
	msgs := h.pub.published()
	events := mustEvents(t, msgs)
	if len(events) != 3 {
		t.Fatalf("published %d hits, want 3", len(events))
	}
	for i, e := range events {
		if !e.ReceivedAt.Equal(testNow) {
			t.Errorf("event %d: receivedAt = %v, want %v", i, e.ReceivedAt, testNow)
		}
		if e.SiteID != "shop" {
			t.Errorf("event %d: siteId = %q, want %q", i, e.SiteID, "shop")
		}
		if !msgs[i].Time.Equal(testNow) {
			t.Errorf("event %d: message time = %v, want %v", i, msgs[i].Time, testNow)
		}
	}
	if events[0].MessageID != "m-given" {
		t.Errorf("messageId = %q, want the client's %q kept", events[0].MessageID, "m-given")
	}
	for _, e := range events[1:] {
		if !isID(e.MessageID) {
			t.Errorf("generated messageId = %q, want 32 hex digits", e.MessageID)
		}
	}
	if events[1].MessageID == events[2].MessageID {
		t.Errorf("two generated messageIds are both %q, want distinct ids", events[1].MessageID)
	}
}

func TestEnrichVisitorCookie(t *testing.T) {
	tests := []struct {
		name    string
		cookie  string
		wantVID string // "" wants a new id
	}{
		{"no cookie", "", ""},
		{"cookie", "ecrm_vid=" + knownVID, knownVID},
		{"cookie among others", "_ga=GA1.2.3; ecrm_vid=" + knownVID + "; theme=dark", knownVID},
		{"cookie too short", "ecrm_vid=0123abcd", ""},
		{"cookie not hex", "ecrm_vid=zz23456789abcdef0123456789abcdef", ""},
		{"cookie empty", "ecrm_vid=", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			r := h.postBatch(t, batch(shopKey, pageJSON), "Cookie", tc.cookie)
			what := fmt.Sprintf("POST /v1/batch(Cookie: %s)", tc.cookie)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			e, _ := h.mustOne(t, what)
			switch {
			case tc.wantVID != "" && e.VisitorID != tc.wantVID:
				t.Errorf("%s: visitorId = %q, want the cookie's %q", what, e.VisitorID, tc.wantVID)
			case tc.wantVID == "" && (!isID(e.VisitorID) || e.VisitorID == knownVID):
				t.Errorf("%s: visitorId = %q, want a new 32-hex id", what, e.VisitorID)
			}
			c := r.cookie("ecrm_vid")
			if c == nil {
				t.Fatalf("%s: no ecrm_vid Set-Cookie in %q, want one", what, r.header.Values("Set-Cookie"))
			}
			if c.Value != e.VisitorID {
				t.Errorf("%s: Set-Cookie ecrm_vid=%q, want the event's visitor id %q", what, c.Value, e.VisitorID)
			}
			checkVisitorCookie(t, what, c, false)
		})
	}
}

// checkVisitorCookie checks the attributes of the server-set visitor cookie.
func checkVisitorCookie(tb testing.TB, what string, c *http.Cookie, wantSecure bool) {
	tb.Helper()
	if !c.HttpOnly {
		tb.Errorf("%s: cookie %s is not HttpOnly", what, c)
	}
	if c.SameSite != http.SameSiteLaxMode {
		tb.Errorf("%s: cookie %s SameSite = %v, want Lax", what, c, c.SameSite)
	}
	if c.Path != "/" {
		tb.Errorf("%s: cookie %s Path = %q, want /", what, c, c.Path)
	}
	if min, max := 390*24*3600, 400*24*3600; c.MaxAge < min || c.MaxAge > max {
		tb.Errorf("%s: cookie %s Max-Age = %d s, want about 13 months (%d..%d)", what, c, c.MaxAge, min, max)
	}
	if c.Secure != wantSecure {
		tb.Errorf("%s: cookie %s Secure = %t, want %t", what, c, c.Secure, wantSecure)
	}
}

func TestEnrichSecureCookie(t *testing.T) {
	tests := []struct {
		name       string
		trusted    []string
		proto      string
		wantSecure bool
	}{
		{"http", nil, "", false},
		{"X-Forwarded-Proto https from a trusted proxy", []string{"0.0.0.0"}, "https", true},
		{"X-Forwarded-Proto http from a trusted proxy", []string{"0.0.0.0"}, "http", false},
		{"trusted proxy, no X-Forwarded-Proto", []string{"0.0.0.0"}, "", false},
		{"X-Forwarded-Proto https from an untrusted client", nil, "https", false},
		{"X-Forwarded-Proto https, another proxy trusted", []string{"10.0.0.1"}, "https", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollectorBehind(t, tc.trusted, shop)
			r := h.postBatch(t, batch(shopKey, pageJSON), "X-Forwarded-Proto", tc.proto)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			c := r.cookie("ecrm_vid")
			if c == nil {
				t.Fatalf("%s: no ecrm_vid Set-Cookie, want one", what)
			}
			checkVisitorCookie(t, what, c, tc.wantSecure)
		})
	}
}

func TestEnrichClockSkew(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		wantTS time.Time
	}{
		{"client clock 10 minutes ahead",
			batch(shopKey, `{"type":"page","anonymousId":"a-1","timestamp":"2024-05-01T12:09:55Z","sentAt":"2024-05-01T12:10:00Z"}`),
			testNow.Add(-5 * time.Second)},
		{"client clock a year behind",
			batch(shopKey, `{"type":"page","anonymousId":"a-1","timestamp":"2023-05-01T11:00:00Z","sentAt":"2023-05-01T11:00:30Z"}`),
			testNow.Add(-30 * time.Second)},
		{"sentAt of the batch",
			`{"writeKey":"wk-shop","sentAt":"2024-05-01T13:00:00Z","batch":[{"type":"page","anonymousId":"a-1","timestamp":"2024-05-01T12:59:00Z"}]}`,
			testNow.Add(-time.Minute)},
		{"no sentAt: timestamp kept",
			batch(shopKey, `{"type":"page","anonymousId":"a-1","timestamp":"2024-05-01T11:58:00Z"}`),
			testNow.Add(-2 * time.Minute)},
		{"no timestamp: receivedAt",
			batch(shopKey, `{"type":"page","anonymousId":"a-1","sentAt":"2024-05-01T12:10:00Z"}`),
			testNow},
		{"correction before 2000: receivedAt",
			batch(shopKey, `{"type":"page","anonymousId":"a-1","timestamp":"2000-01-01T00:00:00Z","sentAt":"2030-01-01T00:00:00Z"}`),
			testNow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			r := h.postBatch(t, tc.body)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			e, _ := h.mustOne(t, what)
			if !e.Timestamp.Equal(tc.wantTS) {
				t.Errorf("%s: timestamp = %v, want %v (receivedAt - (sentAt - timestamp))", what, e.Timestamp, tc.wantTS)
			}
		})
	}
}

func TestEnrichIP(t *testing.T) {
	trusted := []string{"0.0.0.0"}
	tests := []struct {
		name    string
		trusted []string
		body    string
		header  []string
		wantIP  string
		wantCtx string // context.ip, "" for none
		raw     string // must not appear in the published bytes
	}{
		{"X-Forwarded-For from a trusted proxy", trusted, batch(shopKey, pageJSON),
			[]string{"X-Forwarded-For", rawIP}, anonIP, "", rawIP},
		{"X-Forwarded-For chain from a trusted proxy", trusted, batch(shopKey, pageJSON),
			[]string{"X-Forwarded-For", rawIP + ", 10.0.0.1"}, anonIP, "", rawIP},
		{"IPv6 X-Forwarded-For from a trusted proxy", trusted, batch(shopKey, pageJSON),
			[]string{"X-Forwarded-For", "2001:db8:1:2::77"}, "2001:db8:1::", "", "2001:db8:1:2::77"},
		{"X-Forwarded-For from an untrusted client", nil, batch(shopKey, pageJSON),
			[]string{"X-Forwarded-For", rawIP}, "0.0.0.0", "", rawIP},
		{"context.ip", trusted, batch(shopKey, `{"type":"page","anonymousId":"a-1","context":{"ip":"`+rawIP+`"}}`),
			[]string{"X-Forwarded-For", rawIP}, anonIP, anonIP, rawIP},
		{"context.ip of the batch", nil, `{"writeKey":"wk-shop","context":{"ip":"198.51.100.23"},"batch":[` + pageJSON + `]}`,
			nil, "0.0.0.0", "198.51.100.0", "198.51.100.23"},
		// The context passes through as the client's text, but for ip.
		{"context.ip repeated, the last not a string", trusted, batch(shopKey, `{"type":"page","anonymousId":"a-1","context":{"ip":"`+rawIP+`","locale":"fr-FR","ip":{"v":4}}}`),
			[]string{"X-Forwarded-For", rawIP}, anonIP, "", rawIP},
		{"context.ip repeated", trusted, batch(shopKey, `{"type":"page","anonymousId":"a-1","context":{"ip":"198.51.100.23","ip":"`+rawIP+`"}}`),
			[]string{"X-Forwarded-For", rawIP}, anonIP, anonIP, "198.51.100.23"},
		{"context.ip with an escaped key", trusted, batch(shopKey, `{"type":"page","anonymousId":"a-1","context":{"page":{"url":"/"},"\u0069p":"`+rawIP+`"}}`),
			[]string{"X-Forwarded-For", rawIP}, anonIP, anonIP, rawIP},
		{"context.ip in spaced JSON", trusted, batch(shopKey, `{"type":"page","anonymousId":"a-1","context":{ "ip" : "`+rawIP+`" }}`),
			[]string{"X-Forwarded-For", rawIP}, anonIP, anonIP, rawIP},
		{"context.ip on /v1/track", trusted, "",
			[]string{"X-Forwarded-For", rawIP}, anonIP, anonIP, rawIP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollectorBehind(t, tc.trusted, shop)
			req := newRequest(http.MethodPost, "/v1/batch", tc.body, tc.header...)
			if tc.body == "" {
				req = newRequest(http.MethodPost, "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"x","context":{"ip":"`+rawIP+`"}}`, tc.header...)
			}
			r := h.do(t, req)
			what := fmt.Sprintf("POST %s(%s)", req.URL.Path, tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			e, m := h.mustOne(t, what)
			if e.IP != tc.wantIP {
				t.Errorf("%s: ip = %q, want %q", what, e.IP, tc.wantIP)
			}
			if got, _ := e.Context["ip"].(string); got != tc.wantCtx {
				t.Errorf("%s: context.ip = %q, want %q", what, got, tc.wantCtx)
			}
			if bytes.Contains(m.Value, []byte(tc.raw)) || bytes.Contains(m.Key, []byte(tc.raw)) {
				t.Errorf("%s: the raw IP %s is in the published hit: key %q value %s", what, tc.raw, m.Key, m.Value)
			}
		})
	}
}

func TestEnrichUserAgent(t *testing.T) {
	tests := []struct {
		name        string
		header      string
		contextUA   string
		wantBrowser string
		wantDevice  string
		wantBot     bool
	}{
		{"Chrome", chromeUA, "", "Chrome", "desktop", false},
		{"Googlebot", googlebotUA, "", "", "bot", true},
		{"context.userAgent wins over the header", googlebotUA, chromeUA, "Chrome", "desktop", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			ev := pageJSON
			if tc.contextUA != "" {
				ev = fmt.Sprintf(`{"type":"page","anonymousId":"a-1","context":{"userAgent":%q}}`, tc.contextUA)
			}
			r := h.postBatch(t, batch(shopKey, ev), "User-Agent", tc.header)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			e, _ := h.mustOne(t, what)
			if e.UA == nil {
				t.Fatalf("%s: ua missing from the hit", what)
			}
			if (tc.wantBrowser != "" && e.UA.Browser != tc.wantBrowser) || e.UA.Device != tc.wantDevice {
				t.Errorf("%s: ua = %+v, want browser %q device %q", what, *e.UA, tc.wantBrowser, tc.wantDevice)
			}
			if e.Bot != tc.wantBot {
				t.Errorf("%s: bot = %t, want %t", what, e.Bot, tc.wantBot)
			}
		})
	}
}

func TestKafkaKey(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		wantKey string // "visitor" wants the server cookie's id
	}{
		{"user id", `{"type":"track","event":"x","anonymousId":"a-1","userId":"u-42"}`, "u-42"},
		{"anonymous id", `{"type":"track","event":"x","anonymousId":"a-1"}`, "a-1"},
		{`user id "null"`, `{"type":"track","event":"x","anonymousId":"a-1","userId":"null"}`, "a-1"},
		{`user id "undefined"`, `{"type":"track","event":"x","anonymousId":"a-1","userId":"undefined"}`, "a-1"},
		{`user id "0"`, `{"type":"track","event":"x","anonymousId":"a-1","userId":"0"}`, "a-1"},
		{"placeholder ids only", `{"type":"track","event":"x","anonymousId":"anonymous","userId":"null"}`, "visitor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			r := h.postBatch(t, batch(shopKey, tc.event), "Cookie", "ecrm_vid="+knownVID)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			_, m := h.mustOne(t, what)
			want := tc.wantKey
			if want == "visitor" {
				want = knownVID
			}
			if string(m.Key) != want {
				t.Errorf("%s: key = %q, want %q", what, m.Key, want)
			}
		})
	}
}

func TestOrigins(t *testing.T) {
	shopOnly := site.Site{ID: "shop", WriteKey: shopKey, Origins: []string{"https://shop.example"}}
	tests := []struct {
		name        string
		method      string
		target      string
		body        string
		origin      string
		wantStatus  int
		wantAllowed bool // Access-Control-Allow-Origin echoes the origin
	}{
		{"allowed origin", "POST", "/v1/batch", batch(shopKey, pageJSON), "https://shop.example", 200, true},
		{"allowed origin, other case", "POST", "/v1/batch", batch(shopKey, pageJSON), "https://SHOP.example", 200, true},
		{"allowed origin on /v1/track", "POST", "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"x"}`, "https://shop.example", 200, true},
		{"no origin (server-side)", "POST", "/v1/batch", batch(shopKey, pageJSON), "", 200, false},
		{"other origin", "POST", "/v1/batch", batch(shopKey, pageJSON), "https://evil.example", 403, false},
		{"other scheme", "POST", "/v1/batch", batch(shopKey, pageJSON), "http://shop.example", 403, false},
		{"other origin on /v1/track", "POST", "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"x"}`, "https://evil.example", 403, false},
		{"other origin on a pixel", "GET", "/v1/pixel/page?writeKey=wk-shop&anonymousId=a-1", "", "https://evil.example", 403, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shopOnly)
			r := h.do(t, newRequest(tc.method, tc.target, tc.body, "Origin", tc.origin))
			what := fmt.Sprintf("%s %s(%s)", tc.method, strings.SplitN(tc.target, "?", 2)[0], tc.name)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, r, tc.wantStatus)
			}
			acao := r.header.Get("Access-Control-Allow-Origin")
			if tc.wantAllowed {
				if acao != tc.origin {
					t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, acao, tc.origin)
				}
				if got := r.header.Get("Access-Control-Allow-Credentials"); got != "true" {
					t.Errorf("%s: Access-Control-Allow-Credentials %q, want true", what, got)
				}
				if v := r.header.Values("Vary"); !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, "Origin") }) {
					t.Errorf("%s: Vary %q, want Origin", what, v)
				}
			} else if acao != "" {
				t.Errorf("%s: Access-Control-Allow-Origin %q, want none", what, acao)
			}
			if tc.wantStatus != 200 {
				checkClientError(t, what, r)
				if n := len(h.pub.published()); n != 0 {
					t.Errorf("%s: published %d hits, want none", what, n)
				}
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	shopOnly := site.Site{ID: "shop", WriteKey: shopKey, Origins: []string{"https://shop.example"}}
	for _, path := range []string{"/v1/batch", "/v1/track", "/v1/page", "/v1/identify"} {
		t.Run(path, func(t *testing.T) {
			h := mustCollector(t, shopOnly)
			r := h.do(t, newRequest(http.MethodOptions, path, "",
				"Origin", "https://shop.example",
				"Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type, authorization"))
			what := fmt.Sprintf("OPTIONS %s", path)
			if r.status != http.StatusNoContent {
				t.Fatalf("%s = %s, want 204", what, r)
			}
			for name, want := range map[string][]string{
				"Access-Control-Allow-Origin":      {"https://shop.example"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods":     {"POST", "OPTIONS"},
				"Access-Control-Allow-Headers":     {"Content-Type", "Authorization"},
			} {
				got := r.header.Get(name)
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("%s: %s %q, want %s in it", what, name, got, w)
					}
				}
			}
			if len(r.body) != 0 {
				t.Errorf("%s: body %q, want none", what, r.body)
			}
		})
	}
}

// privacySite returns shop with the given privacy settings.
func privacySite(requireConsent bool, policy string, dnt, gpc bool) site.Site {
	return site.Site{ID: "shop", WriteKey: shopKey, RequireConsent: requireConsent, ConsentPolicy: policy, HonorDNT: dnt, HonorGPC: gpc}
}

func TestPrivacyDrop(t *testing.T) {
	consent := func(c string) string {
		return batch(shopKey, `{"type":"page","anonymousId":"a-1","context":{"consent":`+c+`}}`)
	}
	tests := []struct {
		name        string
		site        site.Site
		body        string
		header      []string
		wantStored  bool
		wantVisitor bool // an ecrm_vid cookie is set
	}{
		{"consent required, none given", privacySite(true, "", false, false), batch(shopKey, pageJSON), nil, false, false},
		{"consent required, policy drop, none given", privacySite(true, site.PolicyDrop, false, false), batch(shopKey, pageJSON), nil, false, false},
		{"consent required, analytics granted", privacySite(true, "", false, false),
			consent(`{"categoryPreferences":{"analytics":true,"advertising":false}}`), nil, true, true},
		{"consent required, Analytics granted", privacySite(true, "", false, false),
			consent(`{"categoryPreferences":{"Analytics":true}}`), nil, true, true},
		{"consent required, analytics refused", privacySite(true, "", false, false),
			consent(`{"categoryPreferences":{"analytics":false,"advertising":true}}`), nil, false, false},
		{"consent required, consent true", privacySite(true, "", false, false), consent(`true`), nil, true, true},
		{"consent required, consent false", privacySite(true, "", false, false), consent(`false`), nil, false, false},
		{"consent required, consent in the batch context", privacySite(true, "", false, false),
			`{"writeKey":"wk-shop","context":{"consent":{"categoryPreferences":{"analytics":true}}},"batch":[` + pageJSON + `]}`, nil, true, true},
		{"consent not required", privacySite(false, "", false, false), batch(shopKey, pageJSON), nil, true, true},

		{"DNT honoured, DNT: 1", privacySite(false, "", true, false), batch(shopKey, pageJSON), []string{"DNT", "1"}, false, false},
		{"DNT honoured, no DNT", privacySite(false, "", true, false), batch(shopKey, pageJSON), nil, true, true},
		{"DNT honoured, DNT: 0", privacySite(false, "", true, false), batch(shopKey, pageJSON), []string{"DNT", "0"}, true, true},
		{"DNT not honoured, DNT: 1", privacySite(false, "", false, false), batch(shopKey, pageJSON), []string{"DNT", "1"}, true, true},
		{"DNT honoured, DNT: 1 with consent", privacySite(true, "", true, false), consent(`true`), []string{"DNT", "1"}, false, false},

		{"GPC honoured, Sec-GPC: 1", privacySite(false, "", false, true), batch(shopKey, pageJSON), []string{"Sec-GPC", "1"}, false, false},
		{"GPC honoured, no Sec-GPC", privacySite(false, "", false, true), batch(shopKey, pageJSON), nil, true, true},
		{"GPC not honoured, Sec-GPC: 1", privacySite(false, "", false, false), batch(shopKey, pageJSON), []string{"Sec-GPC", "1"}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, tc.site)
			r := h.postBatch(t, tc.body, tc.header...)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			res := mustResponse(t, what, r)
			wantAccepted, wantDropped := 1, 0
			if !tc.wantStored {
				wantAccepted, wantDropped = 0, 1
			}
			if res.Accepted != wantAccepted || res.Dropped != wantDropped || res.Error != "" {
				t.Errorf("%s = %s, want accepted %d, dropped %d, no error", what, r, wantAccepted, wantDropped)
			}
			if n := len(h.pub.published()); n != wantAccepted {
				t.Errorf("%s: published %d hits, want %d", what, n, wantAccepted)
			}
			if c := r.cookie("ecrm_vid"); (c != nil) != tc.wantVisitor {
				t.Errorf("%s: Set-Cookie %v, want a visitor cookie: %t (no identifier cookie without consent or against DNT/GPC)", what, c, tc.wantVisitor)
			}
		})
	}
}

func TestPrivacyAnonymize(t *testing.T) {
	const ev = `{"type":"identify","messageId":"m-anon","anonymousId":"a-1","userId":"u-1",` +
		`"traits":{"email":"ada@example.com"},` +
		`"context":{"ip":"` + rawIP + `","traits":{"email":"ada@example.com"},"userAgent":"` + chromeUA + `","page":{"path":"/cart"}}}`
	tests := []struct {
		name   string
		site   site.Site
		header []string
	}{
		{"consent required, none given", privacySite(true, site.PolicyAnonymize, false, false), nil},
		{"DNT: 1", privacySite(false, site.PolicyAnonymize, true, false), []string{"DNT", "1"}},
		{"Sec-GPC: 1", privacySite(false, site.PolicyAnonymize, false, true), []string{"Sec-GPC", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollectorBehind(t, []string{"0.0.0.0"}, tc.site)
			header := append([]string{"X-Forwarded-For", rawIP, "Cookie", "ecrm_vid=" + knownVID}, tc.header...)
			r := h.postBatch(t, batch(shopKey, ev), header...)
			what := fmt.Sprintf("POST /v1/batch(%s)", tc.name)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			if res := mustResponse(t, what, r); res.Accepted != 1 || res.Dropped != 0 {
				t.Errorf("%s = %s, want accepted 1, dropped 0", what, r)
			}
			e, m := h.mustOne(t, what)
			if e.AnonymousID != "" || e.UserID != "" || e.VisitorID != "" || e.IP != "" || e.Traits != nil {
				t.Errorf("%s: hit = %s, want no anonymousId, userId, visitorId, ip or traits", what, m.Value)
			}
			for _, k := range []string{"ip", "traits", "userAgent"} {
				if _, ok := e.Context[k]; ok {
					t.Errorf("%s: context.%s = %v, want it removed", what, k, e.Context[k])
				}
			}
			if e.MessageID != "m-anon" || string(m.Key) != "m-anon" {
				t.Errorf("%s: messageId %q key %q, want both %q", what, e.MessageID, m.Key, "m-anon")
			}
			if e.SiteID != "shop" || e.Type != "identify" || e.Context["page"] == nil {
				t.Errorf("%s: hit = %s, want site, type and page kept for counts", what, m.Value)
			}
			for _, secret := range []string{rawIP, anonIP, "ada@example.com", `"a-1"`, `"u-1"`, knownVID} {
				if bytes.Contains(m.Value, []byte(secret)) {
					t.Errorf("%s: %s is in the anonymised hit %s", what, secret, m.Value)
				}
			}
			if c := r.cookie("ecrm_vid"); c != nil {
				t.Errorf("%s: Set-Cookie %s, want no visitor cookie for an anonymised hit", what, c)
			}
		})
	}
}

func TestOptOut(t *testing.T) {
	h := mustCollector(t, shop)

	r := h.do(t, newRequest(http.MethodGet, "/v1/optout", ""))
	if r.status != 200 {
		t.Fatalf("GET /v1/optout = %s, want 200", r)
	}
	checkJSON(t, "GET /v1/optout", r)
	c := r.cookie("ecrm_optout")
	if c == nil || c.Value != "1" {
		t.Fatalf("GET /v1/optout: Set-Cookie %q, want ecrm_optout=1", r.header.Values("Set-Cookie"))
	}
	checkVisitorCookie(t, "GET /v1/optout: ecrm_optout", c, false)
	if vc := r.cookie("ecrm_vid"); vc == nil || vc.Value != "" {
		t.Errorf("GET /v1/optout: ecrm_vid Set-Cookie %v, want it cleared", vc)
	}

	optedOut := []string{"Cookie", "ecrm_optout=1; ecrm_vid=" + knownVID}
	for _, tc := range []struct {
		name        string
		req         *http.Request
		wantDropped int // -1: a pixel, which answers a GIF
	}{
		{"batch", newRequest(http.MethodPost, "/v1/batch", batch(shopKey, pageJSON, trackJSON), optedOut...), 2},
		{"track", newRequest(http.MethodPost, "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"x"}`, optedOut...), 1},
		{"pixel", newRequest(http.MethodGet, "/v1/pixel/page?writeKey=wk-shop&anonymousId=a-1", "", optedOut...), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			what := fmt.Sprintf("%s %s(opted out)", tc.req.Method, tc.req.URL.Path)
			r := h.do(t, tc.req)
			if r.status != 200 {
				t.Fatalf("%s = %s, want 200", what, r)
			}
			if tc.wantDropped >= 0 {
				if res := mustResponse(t, what, r); res.Accepted != 0 || res.Dropped != tc.wantDropped {
					t.Errorf("%s = %s, want accepted 0, dropped %d", what, r, tc.wantDropped)
				}
			} else if ct := r.header.Get("Content-Type"); ct != "image/gif" {
				t.Errorf("%s: Content-Type %q, want image/gif", what, ct)
			}
			if n := len(h.pub.published()); n != 0 {
				t.Errorf("%s: published %d hits, want none", what, n)
			}
			if vc := r.cookie("ecrm_vid"); vc != nil {
				t.Errorf("%s: Set-Cookie %s, want no visitor cookie", what, vc)
			}
		})
	}

	r = h.do(t, newRequest(http.MethodGet, "/v1/optin", "", "Cookie", "ecrm_optout=1"))
	if r.status != 200 {
		t.Fatalf("GET /v1/optin = %s, want 200", r)
	}
	checkJSON(t, "GET /v1/optin", r)
	c = r.cookie("ecrm_optout")
	if c == nil {
		t.Fatalf("GET /v1/optin: Set-Cookie %q, want ecrm_optout cleared", r.header.Values("Set-Cookie"))
	}
	if expired := c.MaxAge < 0 || (!c.Expires.IsZero() && !c.Expires.After(testNow)); c.Value != "" || !expired {
		t.Errorf("GET /v1/optin: Set-Cookie %s, want ecrm_optout with no value, expired", c)
	}

	// Opted in again: hits are stored.
	r = h.postBatch(t, batch(shopKey, pageJSON))
	if res := mustResponse(t, "POST /v1/batch(opted in)", r); r.status != 200 || res.Accepted != 1 {
		t.Errorf("POST /v1/batch(opted in) = %s, want 200 accepted 1", r)
	}
}

func TestPublishFailure(t *testing.T) {
	const secret = "dial tcp 10.1.2.3:9092: connection refused"
	tests := []struct {
		name       string
		err        error
		req        func() *http.Request
		wantStatus int
	}{
		{"spool full, batch", fmt.Errorf("publish: %w", relay.ErrFull),
			func() *http.Request { return newRequest(http.MethodPost, "/v1/batch", batch(shopKey, pageJSON)) }, 503},
		{"spool full, track", fmt.Errorf("publish: %w", relay.ErrFull),
			func() *http.Request {
				return newRequest(http.MethodPost, "/v1/track", `{"writeKey":"wk-shop","anonymousId":"a-1","event":"x"}`)
			}, 503},
		{"spool full, pixel", fmt.Errorf("publish: %w", relay.ErrFull),
			func() *http.Request {
				return newRequest(http.MethodGet, "/v1/pixel/track?writeKey=wk-shop&event=x&anonymousId=a-1", "")
			}, 503},
		{"other error, batch", errors.New(secret),
			func() *http.Request { return newRequest(http.MethodPost, "/v1/batch", batch(shopKey, pageJSON)) }, 500},
		{"other error, pixel", errors.New(secret),
			func() *http.Request {
				return newRequest(http.MethodGet, "/v1/pixel/page?writeKey=wk-shop&anonymousId=a-1", "")
			}, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			h.pub.PublishFn = func(context.Context, ...kafka.Message) error { return tc.err }
			req := tc.req()
			r := h.do(t, req)
			what := fmt.Sprintf("%s %s(%s)", req.Method, req.URL.Path, tc.name)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, r, tc.wantStatus)
			}
			msg := errorMessage(t, what, r)
			switch tc.wantStatus {
			case 503:
				if ra := r.header.Get("Retry-After"); ra == "" {
					t.Errorf("%s: no Retry-After header, want one", what)
				}
			case 500:
				if msg != "internal error" {
					t.Errorf("%s: error %q, want %q", what, msg, "internal error")
				}
			}
			for _, leak := range []string{tc.err.Error(), "10.1.2.3", "relay:", "spool full"} {
				if bytes.Contains(r.body, []byte(leak)) {
					t.Errorf("%s = %s: the body holds the internal error text %q", what, r, leak)
				}
			}
		})
	}
}

// adminHarness is a collector with the sites admin on the same app and
// registry, writing site records to cfg.
type adminHarness struct {
	*harness
	cfg *fakePublisher
}

func mustSiteAdmin(tb testing.TB, sites ...site.Site) *adminHarness {
	tb.Helper()
	h := mustCollector(tb, sites...)
	cfg := &fakePublisher{}
	NewSiteAdmin(h.reg, cfg, "cfg").Routes(h.app, web.AdminAuth(adminToken))
	return &adminHarness{harness: h, cfg: cfg}
}

// admin sends an authenticated admin request.
func (a *adminHarness) admin(tb testing.TB, method, target, body string) result {
	tb.Helper()
	return a.do(tb, newRequest(method, target, body, "Authorization", "Bearer "+adminToken))
}

// lastConfig returns the last record written to the config topic.
func (a *adminHarness) lastConfig(tb testing.TB) kafka.Message {
	tb.Helper()
	msgs := a.cfg.published()
	if len(msgs) == 0 {
		tb.Fatalf("no record on the config topic, want one")
	}
	return msgs[len(msgs)-1]
}

func TestSiteAdminAuth(t *testing.T) {
	a := mustSiteAdmin(t, shop)
	for _, tc := range []struct {
		name, auth string
	}{
		{"no token", ""},
		{"wrong token", "Bearer tok-wrong-0123456789"},
		{"empty bearer", "Bearer "},
		{"token as Basic auth", basic(adminToken, "")},
		{"write key as Basic auth", basic(shopKey, "")},
	} {
		for _, rq := range []struct{ method, target, body string }{
			{"GET", "/v1/sites", ""},
			{"GET", "/v1/sites/shop", ""},
			{"PUT", "/v1/sites/evil", `{"writeKey":"wk-evil"}`},
			{"DELETE", "/v1/sites/shop", ""},
		} {
			t.Run(tc.name+"/"+rq.method+" "+rq.target, func(t *testing.T) {
				r := a.do(t, newRequest(rq.method, rq.target, rq.body, "Authorization", tc.auth))
				what := fmt.Sprintf("%s %s(%s)", rq.method, rq.target, tc.name)
				if r.status != 401 {
					t.Fatalf("%s = %s, want 401", what, r)
				}
				checkClientError(t, what, r)
			})
		}
	}
	if n := len(a.cfg.published()); n != 0 {
		t.Errorf("published %d config records without a token, want none", n)
	}
	if _, err := a.reg.ByWriteKey(shopKey); err != nil {
		t.Errorf("ByWriteKey(%q) after unauthenticated requests = %v, want the site still there", shopKey, err)
	}
}

func TestSiteAdminPutInvalid(t *testing.T) {
	tests := []struct {
		name, id, body string
		wantStatus     int
	}{
		{"bad origin", "news", `{"writeKey":"wk-news","origins":["news.example"]}`, 400},
		{"short key", "news", `{"writeKey":"wk"}`, 400},
		{"no key", "news", `{"origins":["https://news.example"]}`, 400},
		{"bad consentPolicy", "news", `{"writeKey":"wk-news","consentPolicy":"ask"}`, 400},
		{"id in body differs", "news", `{"id":"other","writeKey":"wk-news"}`, 400},
		{"id with a colon", "a:b", `{"writeKey":"wk-news"}`, 400},
		{"not JSON", "news", `writeKey=wk-news`, 400},
		{"empty body", "news", ``, 400},
		{"origins not a list", "news", `{"writeKey":"wk-news","origins":"https://news.example"}`, 400},
		{"key of another site", "news", `{"writeKey":"wk-shop"}`, 409},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustSiteAdmin(t, shop)
			r := a.admin(t, http.MethodPut, "/v1/sites/"+tc.id, tc.body)
			what := fmt.Sprintf("PUT /v1/sites/%s(%s)", tc.id, tc.name)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, r, tc.wantStatus)
			}
			checkClientError(t, what, r)
			if n := len(a.cfg.published()); n != 0 {
				t.Errorf("%s: published %d config records, want none", what, n)
			}
			if got := a.reg.List(); len(got) != 1 || got[0].ID != "shop" {
				t.Errorf("%s: registry holds %+v, want shop only", what, got)
			}
			if s, err := a.reg.ByWriteKey(shopKey); err != nil || s.ID != "shop" {
				t.Errorf("%s: ByWriteKey(%q) = %+v, %v, want shop untouched", what, shopKey, s, err)
			}
		})
	}
}

func TestSiteAdminLifecycle(t *testing.T) {
	a := mustSiteAdmin(t, shop)
	hit := func(key, origin string) result {
		t.Helper()
		return a.postBatch(t, batch(key, pageJSON), "Origin", origin)
	}

	// Unknown before it is put.
	if r := hit("wk-news", ""); r.status != 401 {
		t.Fatalf("POST /v1/batch(wk-news before PUT) = %s, want 401", r)
	}

	r := a.admin(t, http.MethodPut, "/v1/sites/news", `{"writeKey":"wk-news","origins":["https://news.example"],"honorDNT":true}`)
	if r.status != 200 {
		t.Fatalf("PUT /v1/sites/news = %s, want 200", r)
	}
	checkJSON(t, "PUT /v1/sites/news", r)
	var put site.Site
	if err := json.Unmarshal(r.body, &put); err != nil || put.ID != "news" || put.WriteKey != "wk-news" || !put.HonorDNT {
		t.Errorf("PUT /v1/sites/news = %s, want the site with id news", r)
	}
	m := a.lastConfig(t)
	var rec site.Site
	if err := json.Unmarshal(m.Value, &rec); m.Topic != "cfg" || string(m.Key) != "site:news" || err != nil || rec.ID != "news" || rec.WriteKey != "wk-news" {
		t.Errorf("config record = topic %q key %q value %s, want topic cfg, key site:news, the site", m.Topic, m.Key, m.Value)
	}

	// Its key works, with its origins.
	if r := hit("wk-news", "https://news.example"); r.status != 200 {
		t.Errorf("POST /v1/batch(wk-news after PUT) = %s, want 200", r)
	}
	if r := hit("wk-news", "https://shop.example"); r.status != 403 {
		t.Errorf("POST /v1/batch(wk-news from another origin) = %s, want 403", r)
	}
	if e := mustEvents(t, a.pub.published()); len(e) != 1 || e[0].SiteID != "news" {
		t.Errorf("hits = %+v, want one for site news", e)
	}

	// Its key is now taken.
	if r := a.admin(t, http.MethodPut, "/v1/sites/blog", `{"writeKey":"wk-news"}`); r.status != 409 {
		t.Errorf("PUT /v1/sites/blog(key of news) = %s, want 409", r)
	}

	// List and get.
	r = a.admin(t, http.MethodGet, "/v1/sites", "")
	var list struct {
		Sites []site.Site `json:"sites"`
	}
	if err := json.Unmarshal(r.body, &list); r.status != 200 || err != nil {
		t.Fatalf("GET /v1/sites = %s, want 200 and {\"sites\": [...]}", r)
	}
	var ids []string
	for _, s := range list.Sites {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{"news", "shop"}) {
		t.Errorf("GET /v1/sites = %s, want sites news and shop", r)
	}
	r = a.admin(t, http.MethodGet, "/v1/sites/news", "")
	var got site.Site
	if err := json.Unmarshal(r.body, &got); r.status != 200 || err != nil || got.ID != "news" || got.WriteKey != "wk-news" {
		t.Errorf("GET /v1/sites/news = %s, want 200 and the site", r)
	}
	r = a.admin(t, http.MethodGet, "/v1/sites/nope", "")
	if r.status != 404 {
		t.Errorf("GET /v1/sites/nope = %s, want 404", r)
	}
	checkClientError(t, "GET /v1/sites/nope", r)

	// A new key replaces the old one.
	if r := a.admin(t, http.MethodPut, "/v1/sites/news", `{"writeKey":"wk-news-2"}`); r.status != 200 {
		t.Fatalf("PUT /v1/sites/news(new key) = %s, want 200", r)
	}
	if r := hit("wk-news", ""); r.status != 401 {
		t.Errorf("POST /v1/batch(old key of news) = %s, want 401", r)
	}
	if r := hit("wk-news-2", "https://anywhere.example"); r.status != 200 {
		t.Errorf("POST /v1/batch(new key of news, origins dropped) = %s, want 200", r)
	}

	// Delete.
	r = a.admin(t, http.MethodDelete, "/v1/sites/news", "")
	if r.status != 204 {
		t.Fatalf("DELETE /v1/sites/news = %s, want 204", r)
	}
	m = a.lastConfig(t)
	if string(m.Key) != "site:news" || m.Value != nil || m.Topic != "cfg" {
		t.Errorf("config record = topic %q key %q value %q, want a tombstone for site:news on cfg", m.Topic, m.Key, m.Value)
	}
	if r := hit("wk-news-2", ""); r.status != 401 {
		t.Errorf("POST /v1/batch(key of deleted news) = %s, want 401", r)
	}
	checkClientError(t, "POST /v1/batch(key of deleted news)", hit("wk-news-2", ""))
	if r := a.admin(t, http.MethodGet, "/v1/sites/news", ""); r.status != 404 {
		t.Errorf("GET /v1/sites/news after DELETE = %s, want 404", r)
	}
	for _, id := range []string{"news", "nope"} {
		r := a.admin(t, http.MethodDelete, "/v1/sites/"+id, "")
		if r.status != 404 {
			t.Errorf("DELETE /v1/sites/%s = %s, want 404", id, r)
		}
		checkClientError(t, "DELETE /v1/sites/"+id, r)
	}
	if r := hit(shopKey, ""); r.status != 200 {
		t.Errorf("POST /v1/batch(shop) = %s, want 200: other sites untouched", r)
	}
	if n := len(a.cfg.published()); n != 3 {
		t.Errorf("published %d config records, want 3 (put, put, delete)", n)
	}
}

func TestSiteAdminConfigTopicDown(t *testing.T) {
	a := mustSiteAdmin(t, shop)
	const secret = "dial tcp 10.1.2.3:9092: connection refused"
	a.cfg.PublishFn = func(context.Context, ...kafka.Message) error { return errors.New(secret) }

	r := a.admin(t, http.MethodPut, "/v1/sites/news", `{"writeKey":"wk-news"}`)
	if r.status != 503 {
		t.Errorf("PUT /v1/sites/news(config topic down) = %s, want 503", r)
	}
	errorMessage(t, "PUT /v1/sites/news(config topic down)", r)
	if bytes.Contains(r.body, []byte("10.1.2.3")) {
		t.Errorf("PUT /v1/sites/news(config topic down) = %s: holds the internal error", r)
	}
	if _, err := a.reg.ByWriteKey("wk-news"); err == nil {
		t.Errorf("ByWriteKey(%q) after a failed PUT = nil error, want the site not stored", "wk-news")
	}

	r = a.admin(t, http.MethodDelete, "/v1/sites/shop", "")
	if r.status != 503 {
		t.Errorf("DELETE /v1/sites/shop(config topic down) = %s, want 503", r)
	}
	errorMessage(t, "DELETE /v1/sites/shop(config topic down)", r)
	if _, err := a.reg.ByWriteKey(shopKey); err != nil {
		t.Errorf("ByWriteKey(%q) after a failed DELETE = %v, want the site kept", shopKey, err)
	}
}

// TestLargeRequests checks the limits enforced while the server reads a
// request, over a real connection.
func TestLargeRequests(t *testing.T) {
	pad := func(n int) string {
		return fmt.Sprintf(`{"type":"page","anonymousId":"a-1","properties":{"pad":%q}}`, strings.Repeat("x", n))
	}
	var under []string // 20 events of 25 KB: 500 KB in all
	for range 20 {
		under = append(under, pad(25<<10))
	}
	cookies := make([]string, 0, 12) // 12 cookies of 500 bytes, as a shop with analytics and ads tags sets them
	for i := range 12 {
		cookies = append(cookies, fmt.Sprintf("_c%d=%s", i, strings.Repeat("v", 500)))
	}
	pixelProps := url.Values{"writeKey": {shopKey}, "event": {"Order Completed"}, "anonymousId": {"a-1"},
		"properties": {fmt.Sprintf(`{"order_id":"o-1","note":%q}`, strings.Repeat("n", 8<<10))}}
	tests := []struct {
		name         string
		req          func() *http.Request
		wantStatus   int
		wantAccepted int
	}{
		{"body of 500 KB", func() *http.Request {
			return newRequest(http.MethodPost, "/v1/batch", batch(shopKey, under...))
		}, 200, 20},
		{"6 KB of the site's cookies", func() *http.Request {
			return newRequest(http.MethodPost, "/v1/batch", batch(shopKey, pageJSON), "Cookie", strings.Join(cookies, "; "))
		}, 200, 1},
		{"pixel query of 8 KB (under the pixel's 12 KB)", func() *http.Request {
			return newRequest(http.MethodGet, "/v1/pixel/track?"+pixelProps.Encode(), "")
		}, 200, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCollector(t, shop)
			base := h.serve(t)
			req := tc.req()
			what := fmt.Sprintf("%s %s(%s)", req.Method, req.URL.Path, tc.name)
			r := doNet(t, base, req)
			if r.status != tc.wantStatus {
				t.Fatalf("%s = %s, want %d", what, clip(r.String()), tc.wantStatus)
			}
			if r.status != 200 {
				checkClientError(t, what, r)
			}
			if n := len(h.pub.published()); n != tc.wantAccepted {
				t.Errorf("%s: published %d hits, want %d", what, n, tc.wantAccepted)
			}
		})
	}

	// Over a limit, the server answers and closes the connection. Whatever
	// the client sent that the server never read is still in the server's
	// socket at close, and the kernel then resets the connection: the
	// client may see the reset before the answer. These requests are
	// written by hand, only as much as the server reads, so the answer is
	// always there to read.
	t.Run("body over 512 KB", func(t *testing.T) {
		h := mustCollector(t, shop)
		base := h.serve(t)
		body := batch(shopKey, pad(web.BodyLimit))
		// The server reads the headers and stops at the Content-Length.
		head := fmt.Sprintf("POST /v1/batch HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		what := "POST /v1/batch(body over 512 KB)"
		r := doRaw(t, base, what, head)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s = %s, want 413", what, r)
		}
		checkClientError(t, what, r)
		if n := len(h.pub.published()); n != 0 {
			t.Errorf("%s: published %d hits, want none", what, n)
		}
	})

	t.Run("pixel query over the pixel's limit", func(t *testing.T) {
		h := mustCollector(t, shop)
		base := h.serve(t)
		q := url.Values{"writeKey": {shopKey}, "event": {"x"}, "anonymousId": {"a-1"}, "properties.pad": {strings.Repeat("x", maxPixelQuery)}}
		target := "/v1/pixel/track?" + q.Encode()
		if len(target) >= web.ReadBufferSize-256 {
			t.Fatalf("test request of %d bytes does not fit the server's read buffer", len(target))
		}
		what := "GET /v1/pixel/track(query over the pixel's limit)"
		r := doNet(t, base, newRequest(http.MethodGet, target, ""))
		checkClientError(t, what, r)
		if n := len(h.pub.published()); n != 0 {
			t.Errorf("%s: published %d hits, want none", what, n)
		}
	})

	t.Run("request line over the read buffer", func(t *testing.T) {
		h := mustCollector(t, shop)
		base := h.serve(t)
		// Exactly the read buffer, without the end of the headers: the server
		// reads it all, finds no room for more and answers.
		line := "GET /v1/pixel/track?writeKey=" + shopKey + "&event=x&anonymousId=a-1&properties.pad="
		line += strings.Repeat("x", web.ReadBufferSize-len(line))
		what := "GET /v1/pixel/track(request line over the read buffer)"
		r := doRaw(t, base, what, line)
		if r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("%s = %s, want 431", what, r)
		}
		checkClientError(t, what, r)
		if n := len(h.pub.published()); n != 0 {
			t.Errorf("%s: published %d hits, want none", what, n)
		}
	})
}

// doRaw writes raw to the server at base as is and reads its answer.
func doRaw(tb testing.TB, base, what, raw string) result {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		tb.Fatalf("%s: write: %v", what, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("%s: read response: %v", what, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s: read body: %v", what, err)
	}
	return result{status: res.StatusCode, header: res.Header, body: b}
}

// TestSiteAdminPutKeepsID checks that the id a site was put under stays
// its id: the path parameter must not alias the request buffer that Fiber
// reuses for the next requests.
func TestSiteAdminPutKeepsID(t *testing.T) {
	a := mustSiteAdmin(t, shop)
	// Later requests of the same shape reuse the server's pooled buffers.
	// Whether the PUT's buffer is reused depends on sync.Pool (the race
	// detector makes it drop items at random), hence several rounds.
	for round := range 50 {
		if r := a.admin(t, http.MethodPut, "/v1/sites/news", `{"writeKey":"wk-news"}`); r.status != 200 {
			t.Fatalf("PUT /v1/sites/news (round %d) = %s, want 200", round, r)
		}
		for i := range 4 {
			a.admin(t, http.MethodGet, fmt.Sprintf("/v1/sites/x%03d", i), "")
		}
		got, err := a.reg.ByWriteKey("wk-news")
		if err != nil || got.ID != "news" {
			t.Fatalf("ByWriteKey(%q) after later requests (round %d) = %+v, %v, want site id %q", "wk-news", round, got, err, "news")
		}
	}
	if r := a.admin(t, http.MethodGet, "/v1/sites/news", ""); r.status != 200 {
		t.Errorf("GET /v1/sites/news after later requests = %s, want 200", r)
	}
}
