package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
)

// The closed-loop peaks are measured with wrk (loadgen.Wrk) by default,
// sending what the Go generator sends: the same headers (pageHeaders), the
// same bodies (pageBody) for the same visitors and pages, a messageId
// unique in the run.

// wrkThreads is wrk's threads: one per core of this machine class.
const wrkThreads = 2

// writeWrkScript writes the Lua script of wrk's requests to t into dir and
// returns its path.
func (g *generator) writeWrkScript(dir string, t target) (string, error) {
	path := filepath.Join(dir, t.name+".lua")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("wrk script: %w", err)
	}
	w := bufio.NewWriter(f)
	g.luaScript(w, t.addr)
	if err := w.Flush(); err != nil {
		f.Close()
		return "", fmt.Errorf("wrk script: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("wrk script: %w", err)
	}
	return path, nil
}

// luaScript writes the script: the visitors, the pages and the layout of
// a request as data; init(), which builds wrkSlots requests per thread
// from them, choosing visitor and page as fill does from a count
// (m·visitorStride mod the visitors, computed without overflowing Lua's
// doubles), with the thread's start as the send time; and request(),
// which sends them in turn, each time with a new messageId (a per-run
// prefix, the thread and a counter): wrk spends on a request about what
// it spends on one it does not build.
func (g *generator) luaScript(w *bufio.Writer, addr string) {
	fmt.Fprintf(w, "-- wrk's requests for bench/collector (generated)\n")
	fmt.Fprintf(w, "local prefix = %s\n", loadgen.LuaString(g.prefix))
	w.WriteString("local V = {\n")
	for _, v := range g.visitors {
		fmt.Fprintf(w, "{%s,%s,%s,%s},\n", loadgen.LuaString(v.anonymousID), loadgen.LuaString(v.vid), loadgen.LuaString(v.ua), loadgen.LuaString(strconv.FormatInt(v.sessionID, 10)))
	}
	w.WriteString("}\nlocal P = {\n")
	for _, p := range g.pages {
		fmt.Fprintf(w, "{%s,%s,%s},\n", loadgen.LuaString(p.url), loadgen.LuaString(string(p.properties)), loadgen.LuaString(string(p.contextPage)))
	}
	var head strings.Builder
	head.WriteString("POST " + pathBatch + " HTTP/1.1\r\nHost: " + addr + "\r\n")
	for _, h := range pageHeaders {
		head.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	head.WriteString(fasthttp.HeaderCookie + ": ecrm_vid=")
	fmt.Fprintf(w, "}\nlocal H1 = %s\n", loadgen.LuaString(head.String()))
	fmt.Fprintf(w, "local H2 = %s\n", loadgen.LuaString("\r\n"+fasthttp.HeaderUserAgent+": "))
	fmt.Fprintf(w, "local H3 = %s\n", loadgen.LuaString("\r\n"+fasthttp.HeaderReferer+": "))
	fmt.Fprintf(w, "local H4 = %s\n", loadgen.LuaString("\r\n"+fasthttp.HeaderContentLength+": "))
	w.WriteString("local B = {")
	for i, part := range pageBody {
		if i > 0 {
			w.WriteString(", ")
		}
		w.WriteString(loadgen.LuaString(part.lit))
	}
	w.WriteString("}\n")
	// A slot's body: each literal of pageBody followed by its field, cut
	// at the counter of the messageId, which request() puts in.
	pre, post := []string{}, []string{}
	part := &pre
	for i, lit := range pageBody {
		*part = append(*part, fmt.Sprintf("B[%d]", i+1))
		switch lit.field {
		case fieldSentAt:
			*part = append(*part, "sent")
		case fieldMessageID:
			*part = append(*part, "id")
			part = &post
		case fieldAnonymousID:
			*part = append(*part, "v[1]")
		case fieldTimestamp:
			*part = append(*part, "ts")
		case fieldProperties:
			*part = append(*part, "p[2]")
		case fieldContextPage:
			*part = append(*part, "p[3]")
		case fieldUserAgent:
			*part = append(*part, "v[3]")
		case fieldSessionID:
			*part = append(*part, "v[4]")
		}
	}
	fmt.Fprintf(w, `local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread", threads)
end
-- Each thread builds %[1]d requests at start, all but the counter of the
-- messageId, which has 10 digits: the Content-Length is known.
local K, A, C = %[1]d, {}, {}
local n = 1000000000
function init(args)
  local id = prefix .. thread .. "-"
  local now = os.time()
  local sent = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S.000Z", now)
  local ts = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S.850Z", now - 1)
  for k = 1, K do
    local m = (thread - 1) * K + k
    local v = V[(m %% #V) * %[2]d %% #V + 1]
    local p = P[m %% #P + 1]
    local pre = %[3]s
    local post = %[4]s
    A[k] = H1 .. v[2] .. H2 .. v[3] .. H3 .. p[1] .. H4 .. (#pre + 10 + #post) .. "\r\n\r\n" .. pre
    C[k] = post
  end
end
function request()
  n = n + 1
  local k = n %% K + 1
  return A[k] .. n .. C[k]
end
`, wrkSlots, visitorStride%len(g.visitors), strings.Join(pre, " .. "), strings.Join(post, " .. "))
}

// wrkSlots is how many requests each wrk thread builds at start, and
// sends in turn with a new messageId each time.
const wrkSlots = 4096

// peakWrk measures t's closed-loop peak with wrk (loadgen.WrkPeak),
// profiling the servers' CPU into cpuProfile and allocations into
// memProfile if set. It prints the outcome as peak does and returns the
// answers per second and the answers of both runs.
func (b *bench) peakWrk(ctx context.Context, t target, cpuProfile, memProfile string) (rps float64, answered int64, err error) {
	script, err := b.gen.writeWrkScript(b.s.dir, t)
	if err != nil {
		return 0, 0, err
	}
	p := loadgen.WrkPeak{
		Wrk:    loadgen.Wrk{Threads: wrkThreads, Conns: b.cfg.Conns, Duration: b.cfg.Duration, Script: script, URL: "http://" + t.addr + pathBatch},
		Warmup: b.cfg.Warmup, Started: b.s.accepts[t.addr].Since(), CPUProfile: cpuProfile, MemProfile: memProfile,
	}
	r, err := p.Run(ctx)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(b.out, "%s closed loop (wrk -t%d -c%d): %s %s\n", t.name, p.Threads, p.Conns, r.Counts(), cost(r.Usage))
	fmt.Fprintf(b.out, "%s_rps=%.0f\n", t.name, r.Rate())
	fmt.Fprintf(b.out, "%s_server_cpu_us_per_req=%.1f\n", t.name, loadgen.PerRequest(r.Usage.Own, r.Measured.Requests))
	for _, err := range r.Failures(t.name) {
		b.fail(err)
	}
	return r.Rate(), r.Warm.Requests + r.Measured.Requests, nil
}
