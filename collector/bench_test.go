package collector

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/web"
)

// discardPublisher takes records and keeps nothing; it gives their
// pooled buffers back at once, as the relay does once Kafka has them.
type discardPublisher struct{}

func (discardPublisher) Publish(_ context.Context, msgs ...kafka.Message) error {
	kafka.Release(msgs)
	return nil
}

// benchPageBody is one page view as the browser tag sends it, as
// bench/collector sends it.
const benchPageBody = `{"writeKey":"demo","sentAt":"2025-06-15T12:00:00.150Z","batch":[{"type":"page",` +
	`"messageId":"bench-0123456789abcdef-42","anonymousId":"0b1c2d3e-4f50-4617-a293-a4b5c6d7e8f9","timestamp":"2025-06-15T12:00:00.000Z",` +
	`"properties":{"path":"/shoes/running","referrer":"https://shop.example/","title":"Running shoes | Shop","url":"https://shop.example/shoes/running"},` +
	`"context":{"page":{"path":"/shoes/running","referrer":"https://shop.example/","title":"Running shoes | Shop","url":"https://shop.example/shoes/running"},` +
	`"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",` +
	`"locale":"en-US","library":{"name":"ecrm.js","version":"0.1.0"},"campaign":{"source":"newsletter","medium":"email"},"sessionId":1718452800123}}]}`

// BenchmarkBatch times one page view through the collector's Fiber
// handler, from routing to the answer, without HTTP parsing, the network
// or Kafka: the per-request cost bench/collector measures end to end.
func BenchmarkBatch(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sites := new(site.Registry)
	if err := sites.Put(site.Demo); err != nil {
		b.Fatal(err)
	}
	col := New(Config{}, sites, discardPublisher{}, "hits", logger, prometheus.NewRegistry())
	app := web.NewApp(logger, nil)
	col.Routes(app)
	handler := app.Handler()

	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://127.0.0.1/v1/batch")
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.Set(fasthttp.HeaderOrigin, "https://shop.example")
	req.Header.SetUserAgent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	req.Header.SetReferer("https://shop.example/shoes/running")
	req.Header.SetCookie("ecrm_vid", "0123456789abcdef0123456789abcdef")
	req.SetBodyString(benchPageBody)
	var fctx fasthttp.RequestCtx
	fctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}, nil)

	handler(&fctx)
	if code, body := fctx.Response.StatusCode(), string(fctx.Response.Body()); code != fasthttp.StatusOK || !strings.Contains(body, `"accepted":1`) {
		b.Fatalf("POST /v1/batch = %d %s, want 200 with \"accepted\":1", code, body)
	}
	b.SetBytes(int64(len(benchPageBody)))
	b.ReportAllocs()
	for b.Loop() {
		fctx.Response.Reset()
		handler(&fctx)
	}
}
