//go:build linux

package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A RawSender is a Sender whose requests the event loop (EventLoop) can
// send over sockets of its own: it writes its next request as bytes.
type RawSender interface {
	Sender
	// AppendRequest appends the next request to dst as HTTP/1.1 puts it
	// on the wire: the request line, the headers (Host and Content-Length
	// included) and the body.
	AppendRequest(dst []byte) []byte
	// Check judges the 2xx answers' bodies.
	Check() Check
}

// EventLoop runs an open-loop Schedule the way wrk2 does, rather than
// OpenLoop's way: each of Threads event loops, on an OS thread of its
// own, owns Workers/Threads non-blocking keep-alive connections and sends
// every Threads-th scheduled request, when it is due, on the connection
// idle the longest, or as soon as one is idle when all are busy; it
// waits in epoll for answers and for a timerfd armed at the next request's
// due time. A request costs its loop a write, a read and, when it waits
// for it, a wake-up: about half of what OpenLoop costs in Go's scheduler
// and a fasthttp client at the same rate, CPU taken from the servers
// under test on a machine they share. Latency counts from the due time as
// in OpenLoop (no coordinated omission). A request not answered within
// the Schedule's Timeout of its send counts as an error and its
// connection is replaced; when the run ends, Duration+Timeout after its
// start, requests still waiting for a connection count as unsent and
// those in flight as errors. Answers must be HTTP/1.1 framed by
// Content-Length (see parseAnswer).
type EventLoop struct {
	Addr    string // host:port, an IP address
	Threads int    // at least 1
}

// Run runs s with e's loops, loop t sending senders[t]'s requests and
// counting their outcomes in its tally; len(senders) must be e.Threads.
// It fails when it cannot connect to e.Addr or epoll fails.
func (e EventLoop) Run(ctx context.Context, s Schedule, senders []RawSender) (*OpenResult, error) {
	if e.Threads < 1 || len(senders) != e.Threads || s.Workers < e.Threads || s.Rate <= 0 {
		return nil, fmt.Errorf("event loop: %d threads, %d senders, %d workers and rate %g do not make a run", e.Threads, len(senders), s.Workers, s.Rate)
	}
	ap, err := netip.ParseAddrPort(e.Addr)
	if err != nil {
		return nil, fmt.Errorf("event loop: address %q: %w", e.Addr, err)
	}
	domain := unix.AF_INET
	if !ap.Addr().Is4() {
		domain = unix.AF_INET6
	}
	// Each loop has its own: a Sockaddr keeps the raw address it hands
	// the kernel in itself, written on every use.
	sockaddr := func() unix.Sockaddr {
		if domain == unix.AF_INET {
			return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
		}
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	n := int64(s.Rate * s.Duration.Seconds())
	loops := make([]*evLoop, e.Threads)
	for t := range loops {
		conns := s.Workers / e.Threads
		if t < s.Workers%e.Threads {
			conns++
		}
		per := int(n)/e.Threads + 1
		loops[t] = &evLoop{
			rate: s.Rate, timeout: int64(s.Timeout), deadline: int64(s.Duration + s.Timeout),
			domain: domain, sa: sockaddr(), first: int64(t), step: int64(e.Threads), n: n,
			sender: senders[t], check: senders[t].Check(), tally: senders[t].Tally(),
			conns: make([]*evConn, conns), timerAt: -1,
			lat: make([]time.Duration, 0, per), due: make([]time.Duration, 0, per), lags: make([]time.Duration, 0, per),
		}
	}
	// The schedule starts once every connection is open: opening them
	// takes tens of milliseconds, which must not make the first requests
	// late.
	errs := make([]error, e.Threads)
	var wg, connected sync.WaitGroup
	connected.Add(len(loops))
	begin := make(chan struct{})
	for t, l := range loops {
		wg.Go(func() { errs[t] = l.run(ctx, connected.Done, begin) })
	}
	connected.Wait()
	start := time.Now().Add(scheduleLead)
	for _, l := range loops {
		l.start = start
	}
	close(begin)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res := &OpenResult{Scheduled: int(n)}
	for _, l := range loops {
		res.Latencies = append(res.Latencies, l.lat...)
		res.Due = append(res.Due, l.due...)
		res.Lags = append(res.Lags, l.lags...)
	}
	res.Unsent = int(n) - len(res.Lags)
	for _, l := range loops {
		res.Waited += l.waited
	}
	return res, nil
}

// evLoop is one event loop of a run. Times are nanoseconds since the
// schedule's start.
type evLoop struct {
	rate              float64
	timeout, deadline int64
	domain            int
	sa                unix.Sockaddr
	start             time.Time
	first, step, n    int64 // the loop's requests: first, first+step, … below n

	sender RawSender
	check  Check
	tally  *Tally

	epfd, tfd      int
	conns          []*evConn
	idle           fifo[int]     // the idle connections, by index, longest idle first
	backlog        fifo[pending] // the requests waiting for a connection
	waited         int           // requests sent after waiting for a connection
	busy           int           // connections with a request in flight
	timerAt        int64         // the timerfd's expiry, -1 when disarmed
	events         [128]unix.EpollEvent
	lat, due, lags []time.Duration // due: of each lat's request, since the start
}

// pending is a request due, waiting for a connection.
type pending struct {
	due    int64
	waited bool // found every connection busy
}

// evConn is a connection of an event loop.
type evConn struct {
	fd        int
	busy      bool  // a request is in flight
	due, sent int64 // the request's
	out       []byte
	off       int  // of out, written
	wantOut   bool // waiting in epoll to write the rest of out
	in        []byte
}

// timerData marks the timerfd's events; a connection's carry its index.
const timerData = -1

// housekeeping is how often a loop checks its context and the requests'
// timeouts, at least.
const housekeeping = 10 * time.Millisecond

// run opens the loop's connections, calls connected, whether they opened
// or not, waits for begin to be closed, and then runs the loop until its
// requests are sent and answered, or its deadline, or ctx is done.
func (l *evLoop) run(ctx context.Context, connected func(), begin <-chan struct{}) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ready := false
	defer func() {
		if !ready {
			connected()
		}
	}()
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("event loop: epoll: %w", err)
	}
	defer unix.Close(l.epfd)
	if l.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fmt.Errorf("event loop: timerfd: %w", err)
	}
	defer unix.Close(l.tfd)
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: timerData}); err != nil {
		return fmt.Errorf("event loop: epoll: %w", err)
	}
	defer func() {
		for _, c := range l.conns {
			if c != nil && c.fd >= 0 {
				unix.Close(c.fd)
			}
		}
	}()
	for i := range l.conns {
		l.conns[i] = &evConn{fd: -1, in: make([]byte, 0, 4096)}
		if err := l.connect(i); err != nil {
			return err
		}
		l.idle.push(i)
	}
	ready = true
	connected()
	<-begin

	next := l.first
	var checked int64
	for {
		now := l.now()
		fresh := 0 // requests that fell due since the last pass
		for ; next < l.n && l.at(next) <= now; next += l.step {
			l.backlog.push(pending{due: l.at(next)})
			fresh++
		}
		for l.backlog.len() > 0 && l.idle.len() > 0 {
			p := l.backlog.pop()
			if p.waited {
				l.waited++
			}
			if err := l.send(l.idle.pop(), p.due); err != nil {
				return err
			}
		}
		// Those left found every connection busy; older ones are marked.
		for i := len(l.backlog.items) - min(fresh, l.backlog.len()); i < len(l.backlog.items); i++ {
			l.backlog.items[i].waited = true
		}
		if now >= l.deadline || (next >= l.n && l.backlog.len() == 0 && l.busy == 0) {
			break
		}
		if now-checked >= int64(housekeeping) {
			checked = now
			if ctx.Err() != nil {
				break
			}
			if err := l.expire(now); err != nil {
				return err
			}
		}
		if next < l.n {
			if err := l.arm(l.at(next), now); err != nil {
				return err
			}
		}
		k, err := unix.EpollWait(l.epfd, l.events[:], int(housekeeping/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("event loop: epoll_wait: %w", err)
		}
		for _, ev := range l.events[:k] {
			if ev.Fd == timerData {
				var buf [8]byte
				_, _ = unix.Read(l.tfd, buf[:]) // EAGAIN when re-armed since it fired
				l.timerAt = -1
				continue
			}
			if err := l.service(int(ev.Fd), ev.Events); err != nil {
				return err
			}
		}
	}
	for _, c := range l.conns {
		if c.busy {
			l.tally.Fail(errors.New("no answer by the end of the run"))
		}
	}
	return nil
}

// now returns the time since the schedule's start.
func (l *evLoop) now() int64 { return int64(time.Since(l.start)) }

// at returns when request i is due.
func (l *evLoop) at(i int64) int64 { return int64(float64(i) * float64(time.Second) / l.rate) }

// arm sets the timerfd to expire at t, after now, unless it is set so.
func (l *evLoop) arm(t, now int64) error {
	if l.timerAt == t {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(t-now, 1))}
	if err := unix.TimerfdSettime(l.tfd, 0, &spec, nil); err != nil {
		return fmt.Errorf("event loop: timerfd_settime: %w", err)
	}
	l.timerAt = t
	return nil
}

// connect opens connection i, closing its socket first if it has one.
func (l *evLoop) connect(i int) error {
	c := l.conns[i]
	if c.fd >= 0 {
		unix.Close(c.fd) // which also takes it out of epoll
		c.fd = -1
	}
	c.in, c.busy, c.wantOut = c.in[:0], false, false
	fd, err := unix.Socket(l.domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("event loop: socket: %w", err)
	}
	if err := unix.Connect(fd, l.sa); err != nil {
		unix.Close(fd)
		return fmt.Errorf("event loop: connect: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return fmt.Errorf("event loop: TCP_NODELAY: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("event loop: non-blocking: %w", err)
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("event loop: epoll: %w", err)
	}
	c.fd = fd
	return nil
}

// send sends the next request, due at due, on idle connection i.
func (l *evLoop) send(i int, due int64) error {
	c := l.conns[i]
	now := l.now()
	c.out = l.sender.AppendRequest(c.out[:0])
	c.off, c.busy, c.due, c.sent = 0, true, due, now
	l.busy++
	l.lags = append(l.lags, time.Duration(now-due))
	return l.flush(i)
}

// flush writes what is left of connection i's request, and waits in epoll
// to write the rest when the socket's buffer is full.
func (l *evLoop) flush(i int) error {
	c := l.conns[i]
	for c.off < len(c.out) {
		k, err := unix.Write(c.fd, c.out[c.off:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if !c.wantOut {
				c.wantOut = true
				return l.watch(i, unix.EPOLLIN|unix.EPOLLOUT)
			}
			return nil
		case err != nil:
			return l.fail(i, fmt.Errorf("write: %w", err))
		}
		c.off += k
	}
	if c.wantOut {
		c.wantOut = false
		return l.watch(i, unix.EPOLLIN)
	}
	return nil
}

// watch sets the events epoll reports on connection i.
func (l *evLoop) watch(i int, events uint32) error {
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, l.conns[i].fd, &unix.EpollEvent{Events: events, Fd: int32(i)}); err != nil {
		return fmt.Errorf("event loop: epoll: %w", err)
	}
	return nil
}

// service handles epoll's events on connection i.
func (l *evLoop) service(i int, events uint32) error {
	c := l.conns[i]
	if events&unix.EPOLLOUT != 0 && c.wantOut {
		if err := l.flush(i); err != nil {
			return err
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) == 0 || c.fd < 0 {
		return nil
	}
	if len(c.in) == cap(c.in) {
		c.in = append(c.in, make([]byte, cap(c.in))...)[:len(c.in)]
	}
	k, err := unix.Read(c.fd, c.in[len(c.in):cap(c.in)])
	switch {
	case err == unix.EINTR || err == unix.EAGAIN:
		return nil
	case err != nil:
		return l.fail(i, fmt.Errorf("read: %w", err))
	case k == 0:
		if !c.busy && len(c.in) == 0 {
			return l.connect(i) // the server closed an idle connection; it stays in the idle queue
		}
		return l.fail(i, errors.New("connection closed by the server"))
	}
	c.in = c.in[:len(c.in)+k]
	if !c.busy {
		return l.fail(i, fmt.Errorf("%d bytes received with no request in flight", len(c.in)))
	}
	a, err := parseAnswer(c.in)
	if err == errIncomplete {
		return nil
	}
	if err != nil {
		return l.fail(i, err)
	}
	done := l.now()
	if l.tally.Answer(a.code, a.body, l.check) {
		l.lat = append(l.lat, time.Duration(done-c.due))
		l.due = append(l.due, time.Duration(c.due))
	}
	c.busy = false
	l.busy--
	if a.size != len(c.in) || a.close || c.wantOut {
		// More than the answer, an answer before the whole request was
		// written, or the server closing: a new connection.
		if err := l.connect(i); err != nil {
			return err
		}
	}
	c.in = c.in[:0]
	l.idle.push(i)
	return nil
}

// fail counts connection i's request, if it has one in flight, as failed
// with err, and replaces the connection.
func (l *evLoop) fail(i int, err error) error {
	c := l.conns[i]
	busy := c.busy
	if busy {
		l.tally.Fail(err)
		l.busy--
	}
	if err := l.connect(i); err != nil {
		return err
	}
	if busy {
		l.idle.push(i)
	}
	return nil
}

// expire fails the requests in flight for longer than the timeout.
func (l *evLoop) expire(now int64) error {
	for i, c := range l.conns {
		if c.busy && now-c.sent > l.timeout {
			if err := l.fail(i, fmt.Errorf("no answer within %v", time.Duration(l.timeout))); err != nil {
				return err
			}
		}
	}
	return nil
}

// fifo is a first-in first-out queue.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(v T) {
	if q.head > 0 && q.head >= len(q.items)/2 {
		q.items = q.items[:copy(q.items, q.items[q.head:])]
		q.head = 0
	}
	q.items = append(q.items, v)
}

func (q *fifo[T]) pop() T {
	v := q.items[q.head]
	q.head++
	return v
}
