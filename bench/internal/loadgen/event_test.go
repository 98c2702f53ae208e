//go:build linux

package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// scriptSender is a RawSender whose requests say, in X-Mode, how the test
// server is to answer them: its modes in turn, then "ok". It keeps when it
// was asked for each request.
type scriptSender struct {
	addr  string
	modes []string
	n     int
	asked []time.Time
	tally Tally
}

func (s *scriptSender) AppendRequest(dst []byte) []byte {
	mode := "ok"
	if s.n < len(s.modes) {
		mode = s.modes[s.n]
	}
	s.n++
	s.asked = append(s.asked, time.Now())
	body := `{"n":` + fmt.Sprint(s.n) + `}`
	return fmt.Appendf(dst, "POST /v1/batch HTTP/1.1\r\nHost: %s\r\nX-Mode: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", s.addr, mode, len(body), body)
}

// Check refuses the answers whose body is "no".
func (s *scriptSender) Check() Check {
	return func(body []byte) (bool, bool) { return string(body) != "no", false }
}

func (s *scriptSender) Send() bool    { panic("the event loop sends with AppendRequest") }
func (s *scriptSender) Tally() *Tally { return &s.tally }

// scriptServer starts a server on loopback that answers each request as
// its X-Mode says, and returns its address.
func scriptServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() { defer c.Close(); serveScript(c) })
		}
	})
	return ln.Addr().String()
}

// serveScript answers the requests on c until one says to stop.
func serveScript(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		answer := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes"
		switch req.Header.Get("X-Mode") {
		case "slow":
			time.Sleep(20 * time.Millisecond)
		case "503":
			answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
		case "refuse":
			answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"
		case "drop":
			return
		case "close":
			c.Write([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nyes"))
			return
		case "chunked":
			answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nyes\r\n0\r\n\r\n"
		case "split":
			// The answer in three writes, apart: read in parts.
			for _, part := range []string{"HTTP/1.1 200 OK\r\nContent-Le", "ngth: 3\r\n\r\ny", "es"} {
				if _, err := c.Write([]byte(part)); err != nil {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
			continue
		case "hang":
			io.Copy(io.Discard, r) // until the client closes
			return
		}
		if _, err := c.Write([]byte(answer)); err != nil {
			return
		}
	}
}

// TestEventLoopOutcomes holds the event loop's tally to what the server
// did: answers, refusals, non-2xx, answers in parts, a connection closed
// after an answer (a success, and a new connection), and the failures: a
// connection dropped, an answer it cannot frame, no answer in time.
func TestEventLoopOutcomes(t *testing.T) {
	addr := scriptServer(t)
	s := &scriptSender{addr: addr, modes: []string{"ok", "503", "refuse", "drop", "close", "chunked", "hang", "split", "ok", "ok"}}
	res, err := EventLoop{Addr: addr, Threads: 1}.Run(context.Background(),
		Schedule{Rate: 100, Duration: 100 * time.Millisecond, Timeout: 300 * time.Millisecond, Workers: 2}, []RawSender{s})
	if err != nil {
		t.Fatal(err)
	}
	tl := s.tally
	if tl.OK != 5 || tl.Non2xx != 1 || tl.Statuses[503] != 1 || tl.Refused != 1 || tl.Errs != 3 {
		t.Errorf("tally %+v; want 5 ok (ok, close, split, ok, ok), one 503, one refused, 3 errors (drop, chunked, hang)", tl)
	}
	if res.Scheduled != 10 || res.Unsent != 0 || len(res.Lags) != 10 || len(res.Latencies) != 5 {
		t.Errorf("scheduled %d, unsent %d, %d sent, %d timed; want 10, 0, 10 and 5", res.Scheduled, res.Unsent, len(res.Lags), len(res.Latencies))
	}
	if !strings.Contains(tl.FirstErr, "503") {
		t.Errorf("first failure %q, want the 503", tl.FirstErr)
	}
}

// TestEventLoopSchedule sends 500 requests at 2,000 a second from two
// loops to a fasthttp server and checks that each was sent once, never
// before it was due, and answered.
func TestEventLoopSchedule(t *testing.T) {
	var got atomic.Int64
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if !bytes.HasPrefix(ctx.PostBody(), []byte(`{"n":`)) {
			ctx.SetStatusCode(400)
			return
		}
		got.Add(1)
		ctx.SetStatusCode(204)
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	addr := ln.Addr().String()

	const rate, threads = 2000, 2
	senders := []*scriptSender{{addr: addr}, {addr: addr}}
	before := time.Now()
	res, err := EventLoop{Addr: addr, Threads: threads}.Run(context.Background(),
		Schedule{Rate: rate, Duration: 250 * time.Millisecond, Timeout: 2 * time.Second, Workers: 8}, []RawSender{senders[0], senders[1]})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled != 500 || res.Unsent != 0 || len(res.Latencies) != 500 || got.Load() != 500 {
		t.Fatalf("scheduled %d, unsent %d, %d answered, the server got %d; want 500 sent and answered", res.Scheduled, res.Unsent, len(res.Latencies), got.Load())
	}
	// Loop l sends requests l, l+2, …: its k-th is due scheduleLead plus
	// (l+2k)/rate after Run's start, which was after before.
	for l, s := range senders {
		if s.tally.OK != 250 {
			t.Errorf("loop %d: %+v, want 250 ok", l, s.tally)
		}
		for k, at := range s.asked {
			due := before.Add(scheduleLead + time.Duration(l+threads*k)*time.Second/rate)
			if at.Before(due) {
				t.Fatalf("loop %d sent its request %d at %v, before it was due at %v", l, k, at.Sub(before), due.Sub(before))
			}
		}
	}
}

// TestEventLoopCountsWaits gives the loop a server slower than its
// schedule: two connections, 20ms an answer, 50 requests due within
// 100ms. The requests wait for a connection, and their latencies count
// the wait from their due time (no coordinated omission): the last is
// answered about 500ms after it was due.
func TestEventLoopCountsWaits(t *testing.T) {
	addr := scriptServer(t)
	modes := make([]string, 50)
	for i := range modes {
		modes[i] = "slow"
	}
	s := &scriptSender{addr: addr, modes: modes}
	res, err := EventLoop{Addr: addr, Threads: 1}.Run(context.Background(),
		Schedule{Rate: 500, Duration: 100 * time.Millisecond, Timeout: 5 * time.Second, Workers: 2}, []RawSender{s})
	if err != nil {
		t.Fatal(err)
	}
	if s.tally.OK != 50 || len(res.Latencies) != 50 {
		t.Fatalf("%+v, %d timed; want 50 ok", s.tally, len(res.Latencies))
	}
	var worst, worstLag time.Duration
	for i, d := range res.Latencies {
		worst = max(worst, d)
		worstLag = max(worstLag, res.Lags[i])
	}
	if worst < 350*time.Millisecond || worstLag < 300*time.Millisecond {
		t.Errorf("worst latency %v and dispatch lag %v; want the waits for a connection counted (about 500ms and 480ms)", worst, worstLag)
	}
	// Each answer takes 20ms, a request falls due every 2ms: but for the
	// first two, every request finds both connections busy.
	if res.Waited < 40 || res.Waited > 48 {
		t.Errorf("%d requests waited for a connection, want 48 (at least 40)", res.Waited)
	}
	// Each latency goes with its request's due time, every 2ms: the k-th
	// (from 0) is answered 20ms·(⌊k/2⌋+1) after the start at the
	// earliest, two at a time.
	if len(res.Due) != 50 {
		t.Fatalf("%d due times for 50 latencies", len(res.Due))
	}
	seen := map[time.Duration]bool{}
	for i, d := range res.Due {
		if d%(2*time.Millisecond) != 0 || d < 0 || d >= 100*time.Millisecond || seen[d] {
			t.Fatalf("due times %v: %v is off the schedule or twice", res.Due, d)
		}
		seen[d] = true
		k := int64(d / (2 * time.Millisecond))
		if l, want := res.Latencies[i], time.Duration(k/2+1)*20*time.Millisecond-d; l < want-time.Millisecond {
			t.Errorf("the request due at %v took %v; want %v at least", d, l, want)
		}
	}
}

// TestEventLoopRefuses checks the settings Run refuses, and that it fails
// when nothing listens.
func TestEventLoopRefuses(t *testing.T) {
	s := &scriptSender{}
	sch := Schedule{Rate: 10, Duration: 10 * time.Millisecond, Timeout: time.Second, Workers: 1}
	for _, tc := range []struct {
		e   EventLoop
		s   Schedule
		raw []RawSender
	}{
		{EventLoop{Addr: "127.0.0.1:1", Threads: 0}, sch, nil},
		{EventLoop{Addr: "127.0.0.1:1", Threads: 2}, sch, []RawSender{s, s}}, // fewer workers than threads
		{EventLoop{Addr: "localhost:80", Threads: 1}, sch, []RawSender{s}},
	} {
		if _, err := tc.e.Run(context.Background(), tc.s, tc.raw); err == nil {
			t.Errorf("%+v with %d senders: no error", tc.e, len(tc.raw))
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := (EventLoop{Addr: addr, Threads: 1}).Run(context.Background(), sch, []RawSender{s}); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Errorf("nothing listening: %v, want a connect error", err)
	}
}
