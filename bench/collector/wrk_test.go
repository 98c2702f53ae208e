package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/recorder"
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
	rec := recorder.Start(t)
	g := newGenerator()
	tgt := target{name: "recorder", addr: rec.Addr()}
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
	reqs := rec.Take()
	if res.Requests < 100 || int64(len(reqs)) < res.Requests {
		t.Fatalf("wrk answered %d, the server received %d", res.Requests, len(reqs))
	}
	checkPageHits(t, g, reqs)
}

// TestEventLoopSendsWhatFillSends sends page hits for 300ms with the open
// loop's event loop (the sender's AppendRequest) to a server that keeps
// what it receives, and holds them to what fill sends, as
// TestWrkSendsWhatFillSends holds wrk's.
func TestEventLoopSendsWhatFillSends(t *testing.T) {
	rec := recorder.Start(t)
	g := newGenerator()
	tgt := target{name: "recorder", addr: rec.Addr()}
	senders := []loadgen.RawSender{newSender(tgt, g, nil), newSender(tgt, g, nil)}
	res, err := loadgen.EventLoop{Addr: tgt.addr, Threads: len(senders)}.Run(context.Background(),
		loadgen.Schedule{Rate: 2000, Duration: 300 * time.Millisecond, Timeout: 5 * time.Second, Workers: 8}, senders)
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.Take()
	if res.Unsent > 0 || len(res.Latencies) != 600 || len(reqs) != 600 {
		t.Fatalf("%d unsent, %d answered, the server received %d; want 600", res.Unsent, len(res.Latencies), len(reqs))
	}
	for _, s := range senders {
		if err := s.Tally().Failure("recorder", unaccepted); err != nil {
			t.Fatal(err)
		}
	}
	checkPageHits(t, g, reqs)
}

// checkPageHits holds every request to the Go generator's: pageHeaders,
// the visitor's cookie and User-Agent, the page's Referer, and a body
// equal to fill's for the same visitor and page but for the send times
// and the messageId, which must be unique and carry g's prefix.
func checkPageHits(t *testing.T, g *generator, reqs []recorder.Request) {
	t.Helper()
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
			if r.Headers[h[0]] != h[1] {
				t.Fatalf("request %d: %s = %q, want %q (headers %v)", i, h[0], r.Headers[h[0]], h[1], r.Headers)
			}
		}
		if r.Method != fasthttp.MethodPost || r.URI != pathBatch {
			t.Fatalf("request %d: %s %s", i, r.Method, r.URI)
		}
		var ev struct {
			Batch []struct {
				MessageID   string `json:"messageId"`
				AnonymousID string `json:"anonymousId"`
			} `json:"batch"`
		}
		if err := json.Unmarshal(r.Body, &ev); err != nil || len(ev.Batch) != 1 {
			t.Fatalf("request %d: body %q: %v", i, r.Body, err)
		}
		e := ev.Batch[0]
		if ids[e.MessageID] || !strings.HasPrefix(e.MessageID, g.prefix) {
			t.Fatalf("request %d: messageId %q repeated or without the run's prefix %q", i, e.MessageID, g.prefix)
		}
		ids[e.MessageID] = true
		v, p := byAnon[e.AnonymousID], byURL[r.Headers[fasthttp.HeaderReferer]]
		if v == nil || p == nil {
			t.Fatalf("request %d: unknown visitor %q or page %q", i, e.AnonymousID, r.Headers[fasthttp.HeaderReferer])
		}
		visitors[e.AnonymousID] = true
		if r.Headers[fasthttp.HeaderCookie] != "ecrm_vid="+v.vid || r.Headers[fasthttp.HeaderUserAgent] != v.ua {
			t.Fatalf("request %d: cookie %q and User-Agent %q, want the visitor's %q and %q", i,
				r.Headers[fasthttp.HeaderCookie], r.Headers[fasthttp.HeaderUserAgent], v.vid, v.ua)
		}
		if got, want := withoutVarying(t, r.Body), want(v, p); !reflect.DeepEqual(got, want) {
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
