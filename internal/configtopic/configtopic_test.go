package configtopic

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/kafka"
)

func TestKeySchemes(t *testing.T) {
	if k, id, ok := KindKeys([]byte("segment:vip:1")); !ok || k != "segment" || id != "vip:1" {
		t.Errorf("KindKeys = %q %q %v", k, id, ok)
	}
	if _, _, ok := KindKeys([]byte("nocolon")); ok {
		t.Error("KindKeys accepted a key without a kind")
	}
	whole := WholeKeys("item")
	if k, id, ok := whole([]byte("sku:1")); !ok || k != "item" || id != "sku:1" {
		t.Errorf("WholeKeys = %q %q %v", k, id, ok)
	}
	if _, _, ok := whole(nil); ok {
		t.Error("WholeKeys accepted an empty key")
	}
}

// TestHandleTracksPosition feeds records by hand: readiness comes with the
// offsets seen at start, CaughtUp waits for what it is told is on the
// topic, and a partition replayed from its start does not move back.
func TestHandleTracksPosition(t *testing.T) {
	got := map[string]string{}
	w := NewTopic(kafka.Config{}, "t", WholeKeys("item"), map[string]Handler{"item": func(id string, v []byte) error {
		got[id] = string(v)
		return nil
	}}, slog.New(slog.DiscardHandler))
	w.end = map[int]int64{0: 2, 1: 1}
	ctx := context.Background()
	_ = w.Handle(ctx, 0, []kafka.Message{{Offset: 0, Key: []byte("a"), Value: []byte("1")}})
	if w.Ready() {
		t.Fatal("ready before partition 0 reached offset 2")
	}
	_ = w.Handle(ctx, 0, []kafka.Message{{Offset: 1, Key: []byte("b"), Value: []byte("2")}})
	_ = w.Handle(ctx, 1, []kafka.Message{{Offset: 0, Key: []byte("c"), Value: nil}})
	if !w.Ready() || got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("ready %v, applied %v", w.Ready(), got)
	}
	_ = w.Handle(ctx, 0, []kafka.Message{{Offset: 0, Key: []byte("a"), Value: []byte("1")}}) // a replay
	if w.applied[0] != 2 {
		t.Errorf("replay moved partition 0 back to %d", w.applied[0])
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.waitFor(ctx, map[int]int64{0: 3})
	}()
	select {
	case <-done:
		t.Fatal("waitFor returned before offset 2 was applied")
	case <-time.After(50 * time.Millisecond):
	}
	_ = w.Handle(ctx, 0, []kafka.Message{{Offset: 2, Key: []byte("d"), Value: []byte("4")}})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("waitFor did not return once offset 2 was applied")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.waitFor(cctx, map[int]int64{0: 100}); err == nil {
		t.Error("waitFor with a cancelled context = nil")
	}
}
