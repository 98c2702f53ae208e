package profiler_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// stream sends n page views spread over visitors, with a login every few
// visitors so that merges cross partitions, and returns the page views it
// sent.
func stream(tb testing.TB, h *harness, prefix string, from, n int) int64 {
	tb.Helper()
	var batch []event.Event
	for i := from; i < from+n; i++ {
		v := i % 97
		anon := fmt.Sprintf("%s-a%d", prefix, v)
		batch = append(batch, page(anon, ""))
		if i%13 == 0 {
			batch = append(batch, identify(anon, fmt.Sprintf("%s-u%d", prefix, v%11), nil))
		}
		if len(batch) >= 50 {
			h.send(tb, batch...)
			batch = batch[:0]
		}
	}
	h.send(tb, batch...)
	return int64(n)
}

// wantPages settles until the profiles hold exactly pages page views and
// every profile-less identifier is accounted for.
func wantPages(tb testing.TB, h *harness, what string, pages int64) state {
	tb.Helper()
	return h.settle(tb, what, func(s state) bool {
		got, _ := s.totals()
		return got == pages
	})
}

// TestRebalance runs two members of one group; one stops mid-stream, its
// partitions move to the other with their state, and every count is exact.
func TestRebalance(t *testing.T) {
	h := mustHarness(t, 4)
	m1 := h.start(t, "m1")
	m2 := h.start(t, "m2")
	deadline := time.Now().Add(30 * time.Second)
	for !(m1.p.Ready() && m2.p.Ready()) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	pages := stream(t, h, "rb", 0, 600)
	wantPages(t, h, "both members", pages)

	// m1 stops while hits keep coming; m2 takes its partitions over.
	done := make(chan int64)
	go func() { done <- stream(t, h, "rb", 600, 600) }()
	time.Sleep(50 * time.Millisecond)
	m1.stop()
	pages += <-done
	wantPages(t, h, "after m1 stopped", pages)

	// m1 comes back on its old store: partitions move again and the state
	// m2 built meanwhile follows them through the changelog.
	h.start(t, "m1")
	pages += stream(t, h, "rb", 1200, 600)
	s := wantPages(t, h, "after m1 rejoined", pages)
	_, events := s.totals()
	if events < pages {
		t.Errorf("events = %d, fewer than the %d page views", events, pages)
	}
	m2.stop()
	pages += stream(t, h, "rb", 1800, 300)
	wantPages(t, h, "after m2 stopped", pages)
}

// TestStoreLost deletes a member's store between two runs: the state comes
// back from the changelog and the counts go on exactly.
func TestStoreLost(t *testing.T) {
	h := mustHarness(t, 3)
	m := h.start(t, "lost")
	pages := stream(t, h, "sl", 0, 400)
	wantPages(t, h, "first run", pages)
	m.stop()
	if err := os.RemoveAll(filepath.Join(h.dir, "lost")); err != nil {
		t.Fatal(err)
	}
	h.start(t, "lost")
	pages += stream(t, h, "sl", 400, 400)
	wantPages(t, h, "after the store was lost", pages)
}
