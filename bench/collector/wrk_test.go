package main

import (
	"context"
	"encoding/json"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
)

// TestWrkSendsWhatFillSends runs wrk with the generated script for a second
// against a server that keeps what it receives, and holds every request to
// the Go generator's: pageHeaders, the visitor's cookie and User-Agent, the
// page's Referer, and a body equal to fill's for the same visitor and page
// but for the send times and the messageId, which must be unique.
// CI installs wrk (.ci/run); without it the test fails.
func TestWrkSendsWhatFillSends(t *testing.T) {
	if _, err := loadgen.WrkPath(); err != nil {
		t.Fatal(err)
	}
	type received struct {
		headers map[string]string
		body    []byte
	}
	var (
		mu   sync.Mutex
		reqs []received
	)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		r := received{headers: map[string]string{}, body: append([]byte(nil), ctx.PostBody()...)}
		ctx.Request.Header.VisitAll(func(k, v []byte) { r.headers[string(k)] = string(v) })
		if string(ctx.Method()) != fasthttp.MethodPost || string(ctx.Path()) != pathBatch {
			r.headers["bad-request-line"] = string(ctx.Method()) + " " + string(ctx.Path())
		}
		mu.Lock()
		reqs = append(reqs, r)
		mu.Unlock()
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown()

	g := newGenerator()
	tgt := target{name: "recorder", addr: ln.Addr().String()}
	script, err := g.writeWrkScript(t.TempDir(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Wrk{Threads: 2, Conns: 4, Duration: time.Second, Script: script, URL: "http://" + tgt.addr + pathBatch}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Failure("recorder"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if res.Requests < 100 || int64(len(reqs)) < res.Requests {
		t.Fatalf("wrk answered %d, the server received %d", res.Requests, len(reqs))
	}

	byAnon := map[string]*visitor{}
	for i := range g.visitors {
		byAnon[g.visitors[i].anonymousID] = &g.visitors[i]
	}
	byURL := map[string]*page{}
	for i := range g.pages {
		byURL[g.pages[i].url] = &g.pages[i]
	}
	// What fill sends for v and p, as JSON, without the fields that differ.
	want := func(v *visitor, p *page) map[string]any {
		g2 := &generator{prefix: g.prefix, visitors: []visitor{*v}, pages: []page{*p}}
		return withoutVarying(t, g2.fill(new(fasthttp.Request), nil))
	}
	ids := map[string]bool{}
	visitors := map[string]bool{}
	for i, r := range reqs {
		for _, h := range pageHeaders {
			if r.headers[h[0]] != h[1] {
				t.Fatalf("request %d: %s = %q, want %q (headers %v)", i, h[0], r.headers[h[0]], h[1], r.headers)
			}
		}
		if bad := r.headers["bad-request-line"]; bad != "" {
			t.Fatalf("request %d: %s", i, bad)
		}
		var ev struct {
			Batch []struct {
				MessageID   string `json:"messageId"`
				AnonymousID string `json:"anonymousId"`
			} `json:"batch"`
		}
		if err := json.Unmarshal(r.body, &ev); err != nil || len(ev.Batch) != 1 {
			t.Fatalf("request %d: body %q: %v", i, r.body, err)
		}
		e := ev.Batch[0]
		if ids[e.MessageID] || !strings.HasPrefix(e.MessageID, g.prefix) {
			t.Fatalf("request %d: messageId %q repeated or without the run's prefix %q", i, e.MessageID, g.prefix)
		}
		ids[e.MessageID] = true
		v, p := byAnon[e.AnonymousID], byURL[r.headers[fasthttp.HeaderReferer]]
		if v == nil || p == nil {
			t.Fatalf("request %d: unknown visitor %q or page %q", i, e.AnonymousID, r.headers[fasthttp.HeaderReferer])
		}
		visitors[e.AnonymousID] = true
		if r.headers[fasthttp.HeaderCookie] != "ecrm_vid="+v.vid || r.headers[fasthttp.HeaderUserAgent] != v.ua {
			t.Fatalf("request %d: cookie %q and User-Agent %q, want the visitor's %q and %q", i,
				r.headers[fasthttp.HeaderCookie], r.headers[fasthttp.HeaderUserAgent], v.vid, v.ua)
		}
		if got, want := withoutVarying(t, r.body), want(v, p); !reflect.DeepEqual(got, want) {
			t.Fatalf("request %d: body\n%v\nwant (as fill sends it)\n%v", i, got, want)
		}
	}
	if len(visitors) < min(len(reqs), 1000)/2 {
		t.Fatalf("%d requests came from only %d visitors", len(reqs), len(visitors))
	}
}

// withoutVarying decodes a page hit's body and drops what differs between
// two hits of the same visitor on the same page: sentAt, timestamp and
// messageId.
func withoutVarying(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	delete(m, "sentAt")
	for _, e := range m["batch"].([]any) {
		delete(e.(map[string]any), "timestamp")
		delete(e.(map[string]any), "messageId")
	}
	return m
}
