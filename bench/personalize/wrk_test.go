package main

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/recorder"
)

// senderCases are the load the tests of the generators send: each kind,
// and recommend from a few active visitors.
var senderCases = []senderCase{{"recommend", kindRecommend, 0}, {"decide", kindDecide, 0}, {"recommend-active", kindRecommend, 10}}

type senderCase struct {
	name   string
	kind   string
	active int
}

// world returns a small world whose requests come from tc's visitors.
func (tc senderCase) world() *world {
	w := newWorld(3, 1000, 200, time.Now())
	w.active = tc.active
	return w
}

// TestWrkSendsWhatSenderSends runs wrk with the generated scripts for a
// second against a server that keeps what it receives, and holds every
// request to what the Go generator sends: pageHeaders, the URI fill builds
// for the request's visitor, type and item, the Referer of the page; the
// visitors among the world's (or its active ones), spread; recommend's
// types in turn; items drawn by popularity. CI installs wrk (.ci/run);
// without it the test fails.
func TestWrkSendsWhatSenderSends(t *testing.T) {
	if _, err := loadgen.WrkPath(); err != nil {
		t.Fatal(err)
	}
	rec := recorder.Start(t)

	for _, tc := range senderCases {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.world()
			dir := t.TempDir()
			files, err := writeWrkFiles(dir, w)
			if err != nil {
				t.Fatal(err)
			}
			tgt := target{name: tc.name, kind: tc.kind, addr: rec.Addr()}
			script, err := writeWrkScript(dir, tgt, 0, files, 42)
			if err != nil {
				t.Fatal(err)
			}
			rec.Take()
			res, err := loadgen.Wrk{Threads: 2, Conns: 4, Duration: time.Second, Script: script, URL: "http://" + tgt.addr + "/"}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Failure(tc.name); err != nil {
				t.Fatal(err)
			}
			reqs := rec.Take()
			if res.Requests < 100 || int64(len(reqs)) < res.Requests {
				t.Fatalf("wrk answered %d, the server received %d", res.Requests, len(reqs))
			}
			checkRequests(t, w, tc.kind, tc.active, reqs)
		})
	}
}

// TestEventLoopSendsWhatSenderSends sends requests for 300ms with the open
// loop's event loop (the sender's AppendRequest) to a server that keeps
// what it receives, and holds them to what the Go generator sends, as
// TestWrkSendsWhatSenderSends holds wrk's.
func TestEventLoopSendsWhatSenderSends(t *testing.T) {
	rec := recorder.Start(t)
	for _, tc := range senderCases {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.world()
			tgt := target{name: tc.name, kind: tc.kind, addr: rec.Addr()}
			senders := []loadgen.RawSender{newSender(tgt, w, nil), newSender(tgt, w, nil)}
			rec.Take()
			res, err := loadgen.EventLoop{Addr: tgt.addr, Threads: len(senders)}.Run(context.Background(),
				loadgen.Schedule{Rate: 2000, Duration: 300 * time.Millisecond, Timeout: 5 * time.Second, Workers: 8}, senders)
			if err != nil {
				t.Fatal(err)
			}
			reqs := rec.Take()
			// The recorder's answers, {}, are 2xx: recommend's check
			// refuses them (no items), decide's takes them.
			var answered uint64
			for _, s := range senders {
				tl := s.Tally()
				answered += tl.OK + tl.Refused
				if tl.Errs+tl.Non2xx > 0 {
					t.Fatalf("%+v", tl)
				}
			}
			if res.Unsent > 0 || len(res.Lags) != 600 || answered != 600 || len(reqs) != 600 {
				t.Fatalf("%d unsent, %d sent, %d answered, the server received %d; want 600", res.Unsent, len(res.Lags), answered, len(reqs))
			}
			checkRequests(t, w, tc.kind, tc.active, reqs)
		})
	}
}

// checkRequests holds every request to what the Go generator sends:
// pageHeaders, the URI fill builds for the request's visitor, type and
// item, the Referer of the page; the visitors among the world's (or its
// active ones), spread; recommend's types in turn; items drawn by
// popularity.
func checkRequests(t *testing.T, w *world, kind string, active int, reqs []recorder.Request) {
	t.Helper()
	visitors := map[string]bool{}
	for j := range w.profiles {
		if active == 0 || j < active {
			visitors[w.anonID(w.activeVisitor(j))] = true
		}
	}
	items := map[string]int{}
	for k := range w.items {
		items[itemID(k)] = k
	}
	seen := map[string]int{}
	types := map[string]int{}
	itemCount := map[string]int{}
	for i, r := range reqs {
		for _, h := range pageHeaders {
			if r.Headers[h[0]] != h[1] {
				t.Fatalf("request %d: %s = %q, want %q", i, h[0], r.Headers[h[0]], h[1])
			}
		}
		args := fasthttp.AcquireArgs()
		uri := fasthttp.AcquireURI()
		if err := uri.Parse(nil, []byte(r.URI)); err != nil {
			t.Fatalf("request %d: URI %q: %v", i, r.URI, err)
		}
		args.ParseBytes(uri.QueryString())
		anon := string(args.Peek("anonymousId"))
		if !visitors[anon] {
			t.Fatalf("request %d: anonymousId %q is not one of the visitors", i, anon)
		}
		seen[anon]++
		var want, referer string
		if kind == kindDecide {
			want, referer = decidePrefix+anon+writeKeyParam, homeReferer
		} else {
			typ, item := string(args.Peek("type")), string(args.Peek("item"))
			if _, ok := items[item]; !ok || (typ != "personal" && typ != "similar") {
				t.Fatalf("request %d: %q: unknown item or type", i, r.URI)
			}
			types[typ]++
			itemCount[item]++
			want, referer = recommendType+typ+recommendAnon+anon+recommendItem+item+writeKeyParam, productReferer+item
		}
		fasthttp.ReleaseArgs(args)
		fasthttp.ReleaseURI(uri)
		if r.URI != want || r.Headers[fasthttp.HeaderReferer] != referer {
			t.Fatalf("request %d: %q with Referer %q, want %q with %q", i, r.URI, r.Headers[fasthttp.HeaderReferer], want, referer)
		}
	}
	if want := min(len(visitors), len(reqs)) / 2; len(seen) < want {
		t.Fatalf("%d requests came from %d visitors, want at least %d", len(reqs), len(seen), want)
	}
	if kind == kindDecide {
		return
	}
	if p, s := types["personal"], types["similar"]; p < len(reqs)/3 || s < len(reqs)/3 {
		t.Fatalf("types personal=%d similar=%d of %d: not in turn", p, s, len(reqs))
	}
	// By popularity: the most popular item comes far more often
	// than one of middling rank.
	if top, mid := itemCount[itemID(0)], itemCount[itemID(w.items/2)]; top < 5*max(mid, 1) {
		t.Fatalf("item of rank 0 sent %d times, of rank %d %d: not drawn by popularity", top, w.items/2, mid)
	}
}
