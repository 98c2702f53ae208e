package collector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrm/ecrm/collector"
	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/spool"
	"github.com/ecrm/ecrm/internal/web"
)

type tailAll struct {
	mu  sync.Mutex
	got []kafka.Message
}

func (t *tailAll) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }
func (t *tailAll) Close(int)                                {}
func (t *tailAll) Handle(_ context.Context, _ int, msgs []kafka.Message) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.got = append(t.got, msgs...)
	return nil
}

// TestHitsLandInKafka sends hits through the collector and a real relay to
// the embedded broker and reads them back: right key, enriched, and the raw
// client IP nowhere in the stored bytes.
func TestHitsLandInKafka(t *testing.T) {
	b, err := broker.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	kcfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 4}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, kcfg); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	rl := relay.New(kcfg, sp, relay.Options{}, logger, nil)
	go rl.Run()
	defer rl.Close(context.Background())
	reg := new(site.Registry)
	if err := reg.Put(site.Site{ID: "shop", WriteKey: "shop-key"}); err != nil {
		t.Fatal(err)
	}
	app := web.NewApp(logger, []string{"0.0.0.0"}) // app.Test's peer is 0.0.0.0: a trusted proxy
	collector.New(collector.Config{}, reg, rl, kcfg.Topics().Hits, logger, nil).Routes(app)

	const rawIP = "198.51.100.23"
	body := `{"writeKey":"shop-key","batch":[
	 {"type":"page","messageId":"k-1","anonymousId":"anon-7","context":{"ip":"198.51.100.23"}},
	 {"type":"track","event":"Product Viewed","messageId":"k-2","anonymousId":"anon-7","userId":"bob","properties":{"product_id":"p1"}},
	 {"type":"track","event":"Product Viewed","messageId":"k-3","anonymousId":"anon-7","userId":"null"}]}`
	req := httptest.NewRequest("POST", "/v1/batch", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Forwarded-For", rawIP)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15")
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("POST /v1/batch = %d, want 200", res.StatusCode)
	}
	if err := rl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	tail := &tailAll{}
	tctx, tcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = kafka.Tail(tctx, kcfg, kcfg.Topics().Hits, tail, kafka.ReadOptions{}); close(done) }()
	for ctx.Err() == nil {
		tail.mu.Lock()
		n := len(tail.got)
		tail.mu.Unlock()
		if n >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	tcancel()
	<-done

	wantKey := map[string]string{"k-1": "anon-7", "k-2": "bob", "k-3": "anon-7"}
	if len(tail.got) != 3 {
		t.Fatalf("read %d records, want 3", len(tail.got))
	}
	for _, m := range tail.got {
		if bytes.Contains(m.Value, []byte(rawIP)) {
			t.Errorf("record %s holds the raw IP", m.Value)
		}
		var e event.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		if got, want := string(m.Key), wantKey[e.MessageID]; got != want {
			t.Errorf("record %s key = %q, want %q", e.MessageID, got, want)
		}
		if e.SiteID != "shop" || e.ReceivedAt.IsZero() || len(e.VisitorID) != 32 {
			t.Errorf("record %s not enriched: site %q receivedAt %v visitor %q", e.MessageID, e.SiteID, e.ReceivedAt, e.VisitorID)
		}
		if e.IP != "198.51.100.0" {
			t.Errorf("record %s ip = %q, want 198.51.100.0", e.MessageID, e.IP)
		}
		if e.UA == nil || e.UA.Browser != "Safari" || e.UA.Device != "desktop" || e.Bot {
			t.Errorf("record %s ua = %+v bot %v, want desktop Safari, no bot", e.MessageID, e.UA, e.Bot)
		}
		if e.MessageID == "k-1" && e.Context["ip"] != "198.51.100.0" {
			t.Errorf("context.ip = %v, want anonymised", e.Context["ip"])
		}
	}
}
