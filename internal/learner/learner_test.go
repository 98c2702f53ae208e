package learner

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/recommend"
)

func hit(tb testing.TB, off int64, e event.Event) kafka.Message {
	tb.Helper()
	data, err := e.AppendJSON(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return kafka.Message{Offset: off, Value: data}
}

// TestErase: the erasure records the profiler sends through the hits topic
// (the owner's, then one per other identifier) take the person's hits out
// of the live feed and their live sessions out of the recommender.
func TestErase(t *testing.T) {
	model, err := recommend.New(recommend.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := New(kafka.Config{}, model, new(catalog.Catalog), t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	view := func(anon, user, item string, i int) event.Event {
		return event.Event{Type: event.TypeTrack, Event: "Product Viewed", AnonymousID: anon, UserID: user, MessageID: item + anon + user,
			Timestamp: at.Add(time.Duration(i) * time.Minute), Properties: map[string]any{"product_id": item}}
	}
	msgs := []kafka.Message{
		hit(t, 0, view("dev-1", "", "p1", 0)),
		hit(t, 1, view("dev-2", "", "p9", 0)),
		hit(t, 2, view("dev-1", "alice", "p2", 1)),
		hit(t, 3, view("dev-3", "alice", "p3", 2)),
	}
	if err := l.Handle(context.Background(), 0, msgs); err != nil {
		t.Fatal(err)
	}
	if got := model.Stats().LiveSessions; got != 3 { // a:dev-1, a:dev-2, u:alice
		t.Fatalf("live sessions %d, want 3", got)
	}
	topics := kafka.Config{}.Topics()
	erase := profiler.EraseRecord(topics, "u:alice")
	erase.Offset = 4
	link := kafka.Message{Offset: 5, Value: []byte("a:dev-1"), Headers: []kafka.Header{
		{Key: profiler.HeaderKind, Value: []byte(profiler.KindEraseLink)}, {Key: profiler.HeaderTarget, Value: []byte("u:alice")}}}
	if err := l.Handle(context.Background(), 0, []kafka.Message{erase, link}); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range l.Recent() {
		left = append(left, e.AnonymousID+"/"+e.UserID)
	}
	// dev-3's hit came with alice's user id: gone with u:alice.
	if len(left) != 1 || left[0] != "dev-2/" {
		t.Errorf("live feed after the erasure: %v, want only dev-2's hit", left)
	}
	if got := model.Stats().LiveSessions; got != 1 {
		t.Errorf("live sessions after the erasure %d, want 1 (a:dev-2)", got)
	}
	// The feed keeps working as a ring afterwards.
	for i := range RecentCap + 5 {
		if err := l.Handle(context.Background(), 0, []kafka.Message{hit(t, int64(6+i), view("dev-4", "", "p5", 3+i))}); err != nil {
			t.Fatal(err)
		}
	}
	if r := l.Recent(); len(r) != RecentCap || r[0].Timestamp.Before(r[1].Timestamp) {
		t.Errorf("feed of %d hits, newest first %v", len(r), r[0].Timestamp.After(r[1].Timestamp))
	}
}
