package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/bench/internal/meter"
)

// Kinds of target: what the requests ask and how answers are checked.
const (
	kindBare      = "bare"      // the recommend requests, to the bare handler
	kindRecommend = "recommend" // GET /v1/recommend, personal and similar in turn
	kindDecide    = "decide"    // GET /v1/decide at the home banner
)

// target is a server under load.
type target struct {
	name string
	kind string
	addr string // host:port
}

// Markers of the answers: a recommendation with at least one item, a
// decision that recorded an exposure (treatment or holdout).
var (
	someItems = []byte(`"items":[{`)
	aGroup    = []byte(`"group":`)
)

// empty is what failures call the recommendations without items, counted
// in a tally's Refused.
const empty = "recommendations without items"

// check returns how the 2xx answers of a target of kind are judged: a
// recommendation must hold an item; a decision naming a group recorded an
// exposure, counted in a tally's Marked.
func check(kind string) loadgen.Check {
	switch kind {
	case kindRecommend:
		return func(body []byte) (ok, marked bool) { return bytes.Contains(body, someItems), false }
	case kindDecide:
		return func(body []byte) (ok, marked bool) { return true, bytes.Contains(body, aGroup) }
	}
	return nil
}

// counts formats a tally as personalize's lines show it.
func counts(t *loadgen.Tally) string {
	s := fmt.Sprintf("ok=%d in_window=%d non2xx=%d empty=%d errors=%d", t.OK, t.Window, t.Non2xx, t.Refused, t.Errs)
	if t.OK > 0 {
		s += fmt.Sprintf(" mean_body_bytes=%d", t.Bytes/t.OK)
	}
	return s + t.StatusList()
}

// pageUA is the User-Agent of the pages' fetches.
const pageUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// sender sends requests one at a time and tallies their outcomes. It is
// not safe for concurrent use.
type sender struct {
	*loadgen.Conn
	t   target
	w   *world
	r   *rand.Rand
	n   uint64 // requests built
	buf []byte
	raw *fasthttp.Request // AppendRequest's: its URI is the path, Host its header
}

// newSender returns a sender to t over client. Its visitors and items are
// drawn from a random seed, so that no two phases ask for the same
// visitors in the same order: a phase never finds the profiles the
// previous one read waiting in the view's cache.
func newSender(t target, w *world, client *fasthttp.HostClient) *sender {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fasthttp.MethodGet)
	for _, h := range pageHeaders {
		req.Header.Set(h[0], h[1])
	}
	raw := new(fasthttp.Request)
	req.Header.CopyTo(&raw.Header)
	raw.Header.SetHost(t.addr)
	return &sender{Conn: loadgen.NewConn(client, req, check(t.kind)), t: t, w: w, r: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		buf: make([]byte, 0, 256), raw: raw}
}

// pageHeaders are the headers of every request but the Referer: those of
// a shop page's fetch in Chrome.
var pageHeaders = [][2]string{
	{fasthttp.HeaderOrigin, "https://shop.example"},
	{fasthttp.HeaderAccept, "*/*"},
	{fasthttp.HeaderAcceptLanguage, "en-US,en;q=0.9"},
	{fasthttp.HeaderAcceptEncoding, "gzip, deflate, br, zstd"},
	{fasthttp.HeaderUserAgent, pageUA},
	{"Sec-Fetch-Site", "same-site"},
	{"Sec-Fetch-Mode", "cors"},
	{"Sec-Fetch-Dest", "empty"},
}

// The parts of the requests' URIs and Referers around the visitor, the
// type and the item.
const (
	decidePrefix   = pathDecide + "?placement=" + placement + "&anonymousId="
	recommendType  = pathRecommend + "?type="
	recommendAnon  = "&anonymousId="
	recommendItem  = "&item="
	writeKeyParam  = "&writeKey=demo"
	homeReferer    = "https://shop.example/"
	productReferer = "https://shop.example/p/"
)

// recommendTypeOf returns the type of the nth recommend request (from 1):
// personal and similar in turn.
func recommendTypeOf(n uint64) string {
	if n%2 == 0 {
		return "similar"
	}
	return "personal"
}

// next appends the next request's path and query to b and returns them
// with its Referer: a random known visitor (see world.visitor) and, for
// recommend, personal and similar in turn for an item drawn by
// popularity, as product pages are viewed.
func (s *sender) next(b []byte) ([]byte, string) {
	s.n++
	anon := s.w.anonID(s.w.visitor(s.r))
	if s.t.kind == kindDecide {
		b = append(b, decidePrefix...)
		b = append(b, anon...)
		b = append(b, writeKeyParam...)
		return b, homeReferer
	}
	item := itemID(s.w.pop.sample(s.r))
	b = append(b, recommendType...)
	b = append(b, recommendTypeOf(s.n)...)
	b = append(b, recommendAnon...)
	b = append(b, anon...)
	b = append(b, recommendItem...)
	b = append(b, item...)
	b = append(b, writeKeyParam...)
	return b, productReferer + item
}

// fill sets the next request's URI and Referer (see next).
func (s *sender) fill() {
	b := append(s.buf[:0], "http://"...)
	b = append(b, s.t.addr...)
	b, referer := s.next(b)
	s.Req.SetRequestURIBytes(b)
	s.Req.Header.SetReferer(referer)
	s.buf = b
}

// Send sends the next request and reports whether it succeeded.
func (s *sender) Send() bool {
	s.fill()
	return s.Do()
}

// AppendRequest appends the next request to dst as it goes on the wire.
func (s *sender) AppendRequest(dst []byte) []byte {
	b, referer := s.next(s.buf[:0])
	s.raw.Header.SetRequestURIBytes(b)
	s.raw.Header.SetReferer(referer)
	s.buf = b
	return s.raw.Header.AppendBytes(dst)
}

// runLoad is the load generator's process: it sends one phase's requests
// of cfg.Kind to cfg.Target and prints its report on stdout (see
// loadgen.Serve). Its world is the benchmark's, rebuilt from the same
// flags.
func runLoad(ctx context.Context, cfg config, stdout io.Writer) error {
	addr, err := cfg.TargetAddr()
	if err != nil {
		return err
	}
	t := target{name: cfg.Name, kind: cfg.Kind, addr: addr}
	w := newWorld(cfg.Seed, cfg.Profiles, cfg.Items, time.Now())
	w.active = cfg.Active
	return loadgen.Serve(ctx, cfg.Phase, addr, func(client *fasthttp.HostClient) loadgen.Sender { return newSender(t, w, client) }, stdout)
}

// spawnLoad runs a load generator of mode against t in a process of its
// own, this program started again with -role=load, profiling the servers'
// CPU into cpuProfile if set (see loadgen.Spawn). It returns the
// generator's report and what the servers' process used meanwhile.
func (b *bench) spawnLoad(ctx context.Context, t target, mode string, rate float64, workers int, cpuProfile string) (*loadgen.Report, meter.Usage, error) {
	ph := b.cfg.Phase
	ph.Mode, ph.Rate, ph.Workers = mode, rate, workers
	args := []string{
		"-kind=" + t.kind, "-target=http://" + t.addr + "/",
		fmt.Sprintf("-seed=%d", b.cfg.Seed), fmt.Sprintf("-profiles=%d", b.cfg.Profiles), fmt.Sprintf("-items=%d", b.cfg.Items),
		fmt.Sprintf("-active=%d", b.cfg.Active),
	}
	return loadgen.Spawn(ctx, loadgen.Run{Name: t.name, Phase: ph, Args: args, CPUProfile: cpuProfile, Stderr: b.stderr})
}
