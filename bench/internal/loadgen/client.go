package loadgen

import (
	"time"

	"github.com/valyala/fasthttp"
)

// NewClient returns a keep-alive client of at most conns connections to
// addr (host:port) that never retries, a retried POST could store a hit
// twice, and sends no User-Agent of its own. timeout bounds writing a
// request and reading its answer.
func NewClient(addr string, conns int, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  conns,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxIdleConnDuration:       time.Minute,
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		NoDefaultUserAgentHeader:  true,
	}
}

// A Sender sends requests to a target one at a time and tallies their
// outcomes. Each goroutine of a loop has its own, so it need not be safe
// for concurrent use.
type Sender interface {
	// Send sends the next request, counts its outcome in the tally, and
	// reports whether it succeeded.
	Send() bool
	// Tally returns the outcomes counted so far.
	Tally() *Tally
}

// Conn is the part of a Sender the benchmarks share: the request it
// reuses, its answer, the client it goes over (of which it uses one
// connection at a time) and the tally. A program's sender embeds a *Conn;
// its Send sets what changes in Req from one request to the next and
// calls Do.
type Conn struct {
	Req  *fasthttp.Request
	Resp *fasthttp.Response

	client *fasthttp.HostClient
	check  Check
	tally  Tally
}

// NewConn returns a Conn that sends req, with the headers every request
// shares, over client, judging 2xx answers with check.
func NewConn(client *fasthttp.HostClient, req *fasthttp.Request, check Check) *Conn {
	return &Conn{Req: req, Resp: new(fasthttp.Response), client: client, check: check}
}

// Do sends Req, counts the outcome and reports whether it succeeded.
func (c *Conn) Do() bool {
	err := c.client.Do(c.Req, c.Resp)
	return c.tally.Record(c.Resp, err, c.check)
}

// Tally returns the outcomes counted so far.
func (c *Conn) Tally() *Tally { return &c.tally }

// Check returns how the 2xx answers' bodies are judged.
func (c *Conn) Check() Check { return c.check }
