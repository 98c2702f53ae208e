// Package recorder is an HTTP server on loopback for the benchmarks' tests
// that keeps every request it receives, to hold a load generator's
// requests (wrk's scripts) to what the benchmark means to send.
package recorder

import (
	"net"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// Request is a request the server received.
type Request struct {
	Method, URI string            // URI: the path and query, as sent
	Headers     map[string]string // by canonical name
	Body        []byte
}

// Recorder is the server. Its methods are safe for concurrent use.
type Recorder struct {
	addr string
	mu   sync.Mutex
	reqs []Request
}

// Start starts a recorder on a free loopback port, answering every request
// 200 with an empty JSON object, and stops it when tb's test ends.
func Start(tb testing.TB) *Recorder {
	tb.Helper()
	r := new(Recorder)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		req := Request{Method: string(ctx.Method()), URI: string(ctx.RequestURI()), Headers: map[string]string{},
			Body: append([]byte(nil), ctx.PostBody()...)}
		ctx.Request.Header.VisitAll(func(k, v []byte) { req.Headers[string(k)] = string(v) })
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.mu.Unlock()
		ctx.SetBodyString("{}")
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Shutdown() })
	return r
}

// Addr returns the server's host:port.
func (r *Recorder) Addr() string { return r.addr }

// Take returns the requests received since the last Take, and forgets them.
func (r *Recorder) Take() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := r.reqs
	r.reqs = nil
	return reqs
}
