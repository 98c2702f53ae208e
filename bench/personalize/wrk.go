package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
)

// The closed-loop peaks are measured with wrk (loadgen.Wrk) by default,
// sending what the Go generator sends (fill): the same headers, a visitor
// drawn uniformly among the same ones, for recommend personal and similar
// in turn for an item drawn by popularity. Each thread's script loads the
// visitors' anonymous ids and wrkItemDraws items drawn by popularity from
// files at start, and draws from them with its own seed.

// wrkThreads is wrk's threads: one per core of this machine class.
const wrkThreads = 2

// wrkItemDraws is how many items drawn by popularity the scripts send in
// turn, each thread from its own random start.
const wrkItemDraws = 1 << 20

// wrkFiles holds the files the scripts read: the anonymous ids of the
// visitors the requests come from, and items drawn by popularity.
type wrkFiles struct{ visitors, items string }

// writeWrkFiles writes the visitors and item draws of w into dir.
func writeWrkFiles(dir string, w *world) (wrkFiles, error) {
	f := wrkFiles{visitors: filepath.Join(dir, "wrk-visitors.txt"), items: filepath.Join(dir, "wrk-items.txt")}
	n := w.profiles
	if w.active > 0 && w.active < w.profiles {
		n = w.active
	}
	if err := writeLines(f.visitors, n, func(i int) string { return w.anonID(w.activeVisitor(i)) }); err != nil {
		return f, err
	}
	r := rand.New(rand.NewPCG(w.seed, 0x17e35))
	if err := writeLines(f.items, wrkItemDraws, func(int) string { return itemID(w.pop.sample(r)) }); err != nil {
		return f, err
	}
	return f, nil
}

// writeLines writes n lines, line(0) to line(n-1), to path.
func writeLines(path string, n int, line func(i int) string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("wrk data: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		bw.WriteString(line(i))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("wrk data: %w", err)
	}
	return f.Close()
}

// writeWrkScript writes the Lua script of wrk's requests to t into dir,
// drawing with seed, as run (a number in its name), and returns its path.
func writeWrkScript(dir string, t target, run int, files wrkFiles, seed uint64) (string, error) {
	var head strings.Builder
	head.WriteString(" HTTP/1.1\r\nHost: " + t.addr + "\r\n")
	for _, h := range pageHeaders {
		head.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	head.WriteString(fasthttp.HeaderReferer + ": ")
	var request string
	if t.kind == kindDecide {
		request = `  return DP .. V[math.random(#V)] .. WK .. HEAD .. HOME .. "\r\n\r\n"`
	} else {
		request = `  local item = I[(i0 + n) % #I + 1]
  local typ = "personal"
  if n % 2 == 0 then typ = "similar" end
  return RT .. typ .. RA .. V[math.random(#V)] .. RI .. item .. WK .. HEAD .. PRODUCT .. item .. "\r\n\r\n"`
	}
	script := fmt.Sprintf(`-- wrk's requests for bench/personalize (generated): %[1]s
local VF, IF = %[2]s, %[3]s
local DP, RT, RA, RI, WK = %[4]s, %[5]s, %[6]s, %[7]s, %[8]s
local HEAD, HOME, PRODUCT = %[9]s, %[10]s, %[11]s
local V, I = {}, {}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread", threads)
end
local n, i0 = 0, 0
function init(args)
  for line in io.lines(VF) do V[#V + 1] = line end
  for line in io.lines(IF) do I[#I + 1] = line end
  math.randomseed(%[12]d + thread * 7919)
  i0 = math.random(#I)
end
function request()
  n = n + 1
%[13]s
end
`, t.name, loadgen.LuaString(files.visitors), loadgen.LuaString(files.items),
		loadgen.LuaString("GET "+decidePrefix), loadgen.LuaString("GET "+recommendType), loadgen.LuaString(recommendAnon), loadgen.LuaString(recommendItem), loadgen.LuaString(writeKeyParam),
		loadgen.LuaString(head.String()), loadgen.LuaString(homeReferer), loadgen.LuaString(productReferer), seed%(1<<31), request)
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.lua", t.name, run))
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return "", fmt.Errorf("wrk script: %w", err)
	}
	return path, nil
}

// peakWrk measures t's closed-loop peak with wrk (loadgen.WrkPeak),
// profiling the servers' CPU into cpuProfile if set. It prints the outcome
// as peak does and returns the answers per second.
func (b *bench) peakWrk(ctx context.Context, t target, cpuProfile string) (float64, error) {
	if b.wrk.visitors == "" {
		var err error
		if b.wrk, err = writeWrkFiles(b.s.dir, b.w); err != nil {
			return 0, err
		}
	}
	// A new seed for each run, the warm-up's included: no run finds the
	// profiles an earlier one read waiting in the view's cache.
	var scripts [2]string
	for i := range scripts {
		var err error
		if scripts[i], err = writeWrkScript(b.s.dir, t, i, b.wrk, rand.Uint64()); err != nil {
			return 0, err
		}
	}
	empties := b.s.answers.empty.Load()
	p := loadgen.WrkPeak{
		Wrk:    loadgen.Wrk{Threads: wrkThreads, Conns: b.cfg.Conns, Duration: b.cfg.Duration, Script: scripts[1], URL: "http://" + t.addr + "/"},
		Warmup: b.cfg.Warmup, WarmScript: scripts[0], Started: b.s.accepts[t.addr].Since(), CPUProfile: cpuProfile,
	}
	cache := b.s.startCacheCount()
	r, err := p.Run(ctx)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(b.out, "%s closed loop (wrk -t%d -c%d): %s %s\n", t.name, p.Threads, p.Conns, r.Counts(), cost(r.Usage))
	fmt.Fprintf(b.out, "%s_rps=%.0f\n", t.name, r.Rate())
	fmt.Fprintf(b.out, "%s_server_cpu_us_per_req=%.1f\n", t.name, loadgen.PerRequest(r.Usage.Own, r.Measured.Requests))
	if t.kind != kindBare {
		fmt.Fprintf(b.out, "%s_view_cache_hit_rate=%s\n", t.name, cache())
	}
	for _, err := range r.Failures(t.name) {
		b.fail(err)
	}
	if n := b.s.answers.empty.Load() - empties; n > 0 && t.kind == kindRecommend {
		b.fail(fmt.Errorf("%s (wrk): %d %s", t.name, n, empty))
	}
	return r.Rate(), nil
}
