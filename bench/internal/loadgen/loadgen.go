// Package loadgen is the load generation the benchmarks under bench/
// share:
//
//   - keep-alive fasthttp clients that never retry (NewClient), and
//     senders that send one request at a time and count the outcome of
//     each in a Tally (Conn, Sender);
//   - the closed loop, senders sending back to back to find the peak
//     rate (ClosedLoop), and the open loop, requests scheduled at a fixed
//     rate and timed from their scheduled send time, so that neither a
//     slow answer nor a late generator hides a stall (OpenLoop);
//   - a load generator in a process of its own, the benchmark's program
//     started again with -role=load (RoleLoad), so that client and
//     servers do not share a Go scheduler, heap and garbage collector: the
//     benchmark starts it for one Phase, metering (and maybe profiling)
//     itself meanwhile, and reads its Report (Spawn); the generator runs
//     the phase and prints the report as JSON (Serve);
//   - the flags such a benchmark has (Flags, ParseFlags), and its main
//     function (Main).
//
// What a benchmark starts, which requests it sends, how it judges the
// answers (a Check) and what it prints stay in its program; the measuring
// itself is package meter's.
package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is a benchmark's main function: it calls run with the program's
// arguments, standard output and standard error, under a context that an
// interrupt, SIGTERM or one of signals cancels, and exits with status 2
// after -h, or 1 when run fails, printing the error after "bench <name>:"
// on standard error.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error, signals ...os.Signal) {
	ctx, stop := signal.NotifyContext(context.Background(), append([]os.Signal{os.Interrupt, syscall.SIGTERM}, signals...)...)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench "+name+":", err)
		os.Exit(1)
	}
}

// Verdict returns how the benchmarks print a target's outcome: PASS or
// FAIL.
func Verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// Workers returns the default number of open-loop senders at rate
// requests a second: enough for each request to have 5ms before it
// delays the next, at least 64 and at most 1024.
func Workers(rate float64) int { return min(max(64, int(rate*0.005)+1), 1024) }
