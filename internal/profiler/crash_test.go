package profiler_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/store"
)

// TestMain runs the tests, or, when TestCrash starts the test binary again
// with ECRM_TEST_MEMBER set, a profiler member until the process is killed.
func TestMain(m *testing.M) {
	dir := os.Getenv("ECRM_TEST_MEMBER")
	if dir == "" {
		os.Exit(m.Run())
	}
	kcfg := kafka.Config{Brokers: strings.Split(os.Getenv("ECRM_TEST_BROKERS"), ","), Partitions: 4}.WithDefaults()
	db, err := store.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := kafka.NewProducer(kcfg, false, kafka.ProducerOptions{})
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := profiler.New(kcfg, profiler.Config{}, db, out, logger, nil)
	_ = p.Run(context.Background()) // until SIGKILL
	os.Exit(0)
}

// sessionTimeout is the consumer group session timeout of the members
// (see kafka.Group).
const sessionTimeout = 10 * time.Second

// TestCrash kills a profiler process with SIGKILL mid-stream, twice, and
// restarts it on the same store: every count is exact.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	h := mustHarness(t, 4)
	dir := filepath.Join(h.dir, "crash")
	startChild := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "ECRM_TEST_MEMBER="+dir, "ECRM_TEST_BROKERS="+strings.Join(h.kcfg.Brokers, ","))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd
	}
	kill := func(cmd *exec.Cmd) {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_, _ = cmd.Process.Wait()
	}

	// progressed waits until the child has published page views beyond
	// seen: it is a member of the group, mid-stream.
	progressed := func(seen int64) int64 {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if got, _ := h.read(t).totals(); got > seen {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no progress past %d page views", seen)
		return 0
	}
	var pages, seen int64
	child := startChild()
	for round := range 3 {
		done := make(chan int64)
		go func() { done <- stream(t, h, "crash", round*800, 800) }()
		seen = progressed(seen)
		if round < 2 {
			kill(child) // mid-stream, with batches in flight
			// Let the group drop the dead member (its session times out)
			// before the next one joins: kfake can keep a dead member in a
			// generation a newcomer's join started, and then the group
			// never settles (a real broker evicts it at the rebalance
			// timeout). Hits keep coming meanwhile.
			time.Sleep(sessionTimeout + time.Second)
			child = startChild()
		}
		pages += <-done
	}
	wantPages(t, h, "after two SIGKILLs", pages)
	kill(child)
}
