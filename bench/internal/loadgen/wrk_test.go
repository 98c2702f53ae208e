package loadgen

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/ecrm/ecrm/bench/internal/meter"
)

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      WrkResult
	}{
		{"clean", `Running 8s test @ http://127.0.0.1:39515/v1/batch
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   697.57us    0.96ms  11.39ms   89.13%
    Req/Sec    68.80k     5.20k   80.10k    70.00%
  1094567 requests in 8.00s, 98.12MB read
Requests/sec: 136822.35
Transfer/sec:     12.27MB
`, WrkResult{Requests: 1094567, Elapsed: 8 * time.Second}},
		{"errors", `Running 1m test @ http://127.0.0.1:1/v1/batch
  2 threads and 64 connections
  12345 requests in 1.00m, 1.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:    205.75
`, WrkResult{Requests: 12345, Elapsed: time.Minute, Non2xx: 17, Connect: 1, Read: 2, Write: 3, Timeout: 4}},
		{"fractional ms", `  3 requests in 250.50ms, 1.00KB read
`, WrkResult{Requests: 3, Elapsed: 250500 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWrk(tc.out)
			if err != nil {
				t.Fatal(err)
			}
			got.Output = ""
			if got != tc.want {
				t.Fatalf("ParseWrk = %+v, want %+v", got, tc.want)
			}
			if (got.Failure("x") == nil) != (tc.want.Non2xx == 0 && tc.want.Errors() == 0) {
				t.Fatalf("Failure = %v", got.Failure("x"))
			}
		})
	}
	if _, err := ParseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("ParseWrk took a report without a request count")
	}
	if r := (WrkResult{Requests: 500, Elapsed: 2 * time.Second}); r.Rate() != 250 {
		t.Fatalf("Rate = %v, want 250", r.Rate())
	}
}

func TestProcessCPU(t *testing.T) {
	// Spin until this process has used 300 ms more CPU, however busy the
	// machine.
	start, deadline := meter.CPUTime(), time.Now().Add(time.Minute)
	for meter.CPUTime()-start < 300*time.Millisecond && time.Now().Before(deadline) {
	}
	got, want := processCPU(os.Getpid()), meter.CPUTime()
	if got < 200*time.Millisecond || got > want+20*time.Millisecond || got < want-100*time.Millisecond {
		t.Fatalf("processCPU = %v, getrusage says %v", got, want)
	}
	if processCPU(-1) != 0 {
		t.Fatal("processCPU of no process is not 0")
	}
}

func TestAcceptsSince(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := CountAccepts(ln)
	defer a.Close()
	since := a.Since()
	if since() {
		t.Fatal("a connection before any")
	}
	go func() {
		if c, err := a.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); !since(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection was not counted")
		}
	}
	if a.Since()() {
		t.Fatal("a new Since counts an earlier connection")
	}
}
