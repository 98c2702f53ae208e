package event

import (
	"fmt"
	"strings"
	"testing"
)

// browserPage is one page event as the browser tag sends it: ids, the
// page, the user agent, locale, library, campaign and session.
const browserPage = `{"type":"page","messageId":"5f0c6a1e-8d2b-4c7e-9a31-0b6f2d4e7c%02d",` +
	`"anonymousId":"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9","timestamp":"2025-06-15T12:00:00.123Z",` +
	`"context":{"page":{"path":"/shoes/running","referrer":"https://www.google.com/","search":"?utm_source=google",` +
	`"title":"Running shoes | Shop","url":"https://shop.example/shoes/running?utm_source=google"},` +
	`"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",` +
	`"locale":"fr-FR","library":{"name":"ecrm.js","version":"0.1.0"},"campaign":{"source":"google"},"sessionId":1718452800123}}`

// browserBatch returns the body the browser tag sends for n page events.
func browserBatch(n int) []byte {
	events := make([]string, n)
	for i := range events {
		events[i] = fmt.Sprintf(browserPage, i)
	}
	return []byte(`{"writeKey":"wk_live_3f9a","batch":[` + strings.Join(events, ",") + `],"sentAt":"2025-06-15T12:00:00.456Z"}`)
}

func BenchmarkDecodeBatch(b *testing.B) {
	for _, dec := range []struct {
		name string
		fn   func([]byte) (*Batch, error)
	}{{"maps", DecodeBatch}, {"raw", DecodeBatchRaw}} {
		for _, n := range []int{1, 20} {
			body := browserBatch(n)
			b.Run(fmt.Sprintf("%s/events=%d/bytes=%d", dec.name, n, len(body)), func(b *testing.B) {
				if bt, err := dec.fn(body); err != nil || len(bt.Events) != n {
					b.Fatalf("decode = %v, want %d events", err, n)
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := dec.fn(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeEncode times the collector's work on an event's JSON:
// decoding a browser page and encoding it again.
func BenchmarkDecodeEncode(b *testing.B) {
	body := browserBatch(1)
	for _, dec := range []struct {
		name string
		fn   func([]byte) (*Batch, error)
	}{{"maps", DecodeBatch}, {"raw", DecodeBatchRaw}} {
		b.Run(dec.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				bt, err := dec.fn(body)
				if err != nil {
					b.Fatal(err)
				}
				if buf, err = bt.Events[0].AppendJSON(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
