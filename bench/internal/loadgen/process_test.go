package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestFlags(t *testing.T) {
	var f Flags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if f.Role != RoleBench || f.Mode != Closed || f.Duration != 10*time.Second || f.Conns != 64 {
		t.Errorf("defaults: %+v", f)
	}

	tests := []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"-duration=0"}, "-duration must be positive"},
		{[]string{"-conns=0", "-timeout=0"}, "-conns 0 out of range 1..4096\n-timeout must be positive"},
		{[]string{"-role=other"}, `-role "other" is neither bench nor load`},
		{[]string{"-role=load"}, "-role=load needs -target"},
		{[]string{"-role=load", "-mode=open"}, "-mode=open needs -rate of at least 1 and -workers"},
		{[]string{"-role=load", "-mode=half"}, `-mode "half" is neither closed nor open`},
	}
	for _, tc := range tests {
		var f Flags
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		f.Register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		f.Target = ""
		err := f.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: Validate() = %v, want %q", tc.args, err, tc.want)
		}
	}
	open := Flags{Phase: Phase{Mode: Open, Duration: time.Second, Conns: 1, Rate: 1, Workers: 1, Timeout: time.Second}, Role: RoleLoad, Target: "http://127.0.0.1:1/"}
	if err := open.Validate(); err != nil {
		t.Errorf("%+v: %v", open, err)
	}
}

func TestParseFlags(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "")
	if err := ParseFlags(fs, []string{"-n=3"}); err != nil || *n != 3 {
		t.Errorf("ParseFlags(-n=3) = %v, n=%d", err, *n)
	}
	if err := ParseFlags(fs, []string{"-n=3", "left", "over"}); err == nil || err.Error() != `unexpected arguments ["left" "over"]` {
		t.Errorf("ParseFlags with leftovers = %v", err)
	}
	if err := ParseFlags(fs, []string{"-h"}); err != flag.ErrHelp {
		t.Errorf("ParseFlags(-h) = %v, want flag.ErrHelp", err)
	}
}

func TestTargetAddr(t *testing.T) {
	for target, want := range map[string]string{
		"http://127.0.0.1:8080/v1/batch": "127.0.0.1:8080",
		"http://[::1]:80/":               "[::1]:80",
		"https://127.0.0.1:8080/":        "",
		"http://10.0.0.1:8080/":          "",
		"http://localhost:8080/":         "",
		"http://127.0.0.1/":              "",
		"127.0.0.1:8080":                 "",
	} {
		got, err := Flags{Target: target}.TargetAddr()
		if got != want || (err == nil) != (want != "") {
			t.Errorf("TargetAddr(%q) = %q, %v; want %q", target, got, err, want)
		}
	}
}

func TestPhaseLimit(t *testing.T) {
	p := Phase{Mode: Closed, Duration: 10 * time.Second, Warmup: 2 * time.Second, Timeout: 5 * time.Second}
	if got := p.Limit(); got != 27*time.Second {
		t.Errorf("closed: Limit = %v, want 27s", got)
	}
	p.Mode = Open
	if got := p.Limit(); got != 25*time.Second {
		t.Errorf("open: Limit = %v, want 25s (no warm-up)", got)
	}
}

// testSender sends GET / and refuses answers saying "no".
type testSender struct{ *Conn }

func (s testSender) Send() bool { return s.Do() }

// TestServe runs both modes of the load generator against a loopback
// server and reads their reports.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var n atomic.Int64
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		if n.Add(1)%5 == 0 {
			c.SetBodyString("no")
			return
		}
		c.SetBodyString("yes")
	}}
	go srv.Serve(ln) //nolint:errcheck // stopped by ln.Close
	check := func(body []byte) (bool, bool) { return string(body) != "no", false }
	newSender := func(client *fasthttp.HostClient) Sender {
		req := new(fasthttp.Request)
		req.SetRequestURI("http://" + ln.Addr().String() + "/")
		return testSender{NewConn(client, req, check)}
	}

	for _, ph := range []Phase{
		{Mode: Closed, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, Conns: 2, Timeout: time.Second},
		{Mode: Open, Duration: 100 * time.Millisecond, Rate: 500, Workers: 4, Timeout: time.Second},
	} {
		var out bytes.Buffer
		if err := Serve(context.Background(), ph, ln.Addr().String(), newSender, &out); err != nil {
			t.Fatalf("%s: %v", ph.Mode, err)
		}
		var rep Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%s: report: %v", ph.Mode, err)
		}
		tl := rep.Tally
		if tl.OK == 0 || tl.Refused == 0 || tl.Window == 0 || tl.Window > tl.OK || tl.Errs != 0 || rep.CPU <= 0 {
			t.Errorf("%s: report %+v", ph.Mode, rep)
		}
		if err := rep.Failure("x", "noes"); err == nil || !strings.Contains(err.Error(), "noes") {
			t.Errorf("%s: Failure = %v", ph.Mode, err)
		}
		if ph.Mode == Open {
			if rep.Scheduled != 50 || rep.Unsent != 0 || tl.Window != tl.OK || rep.Latencies != int(tl.OK) || rep.LatencyMax < rep.LatencyP50 {
				t.Errorf("open: report %+v", rep)
			}
		}
	}
}
