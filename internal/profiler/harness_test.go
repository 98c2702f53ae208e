package profiler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/stats"
	"github.com/ecrm/ecrm/internal/store"
)

// harness is an embedded broker with ecrm's topics, a producer of hits, and
// profiler members started on demand.
type harness struct {
	kcfg kafka.Config
	hits *kafka.Producer
	dir  string
	seq  int
	mu   sync.Mutex
}

func mustHarness(tb testing.TB, partitions int) *harness {
	tb.Helper()
	b, err := broker.Start("127.0.0.1:0", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	kcfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: partitions}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, kcfg); err != nil {
		tb.Fatal(err)
	}
	h := &harness{kcfg: kcfg, hits: kafka.NewProducer(kcfg, false, kafka.ProducerOptions{}), dir: tb.TempDir()}
	tb.Cleanup(func() { h.hits.Close() })
	return h
}

// member is a running profiler group member.
type member struct {
	p    *profiler.Profiler
	stop func()
}

// start runs a member whose store lives in the named folder of the harness.
func (h *harness) start(tb testing.TB, name string) *member {
	tb.Helper()
	return h.startWith(tb, name, profiler.Config{})
}

// startWith is start with a configuration.
func (h *harness) startWith(tb testing.TB, name string, cfg profiler.Config) *member {
	tb.Helper()
	db, err := store.Open(filepath.Join(h.dir, name), nil)
	if err != nil {
		tb.Fatal(err)
	}
	out := kafka.NewProducer(h.kcfg, false, kafka.ProducerOptions{})
	p := profiler.New(h.kcfg, cfg, db, out, slog.New(slog.DiscardHandler), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	var once sync.Once
	m := &member{p: p, stop: func() {
		once.Do(func() {
			cancel()
			<-done
			out.Close()
			db.Close()
		})
	}}
	tb.Cleanup(m.stop)
	return m
}

// send publishes hits keyed as the collector keys them, with a messageId
// made up where the event has none.
func (h *harness) send(tb testing.TB, events ...event.Event) {
	tb.Helper()
	msgs := make([]kafka.Message, len(events))
	for i := range events {
		e := &events[i]
		if e.MessageID == "" {
			h.mu.Lock()
			h.seq++
			e.MessageID = fmt.Sprintf("msg-%d", h.seq)
			h.mu.Unlock()
		}
		if e.Timestamp.IsZero() {
			e.Timestamp = time.Now().UTC()
		}
		e.ReceivedAt = e.Timestamp
		v, err := json.Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		msgs[i] = kafka.Message{Topic: h.kcfg.Topics().Hits, Key: []byte(e.Key()), Value: v, Time: e.Timestamp}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.hits.Publish(ctx, msgs...); err != nil {
		tb.Fatal(err)
	}
}

// state is what the profiler published: the latest snapshot of each
// profile and the profile id of each identifier.
type state struct {
	profiles   map[string]*profile.Profile // by profile id
	identities map[string]string
}

// byID returns the profile an identifier maps to, or nil.
func (s state) byID(id string) *profile.Profile { return s.profiles[s.identities[id]] }

// totals sums page views and events over every profile.
func (s state) totals() (pages, events int64) {
	for _, p := range s.profiles {
		pages += p.PageViews
		events += p.Events
	}
	return pages, events
}

// read reads the profiles and identities topics to their ends.
func (h *harness) read(tb testing.TB) state {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := state{profiles: map[string]*profile.Profile{}, identities: map[string]string{}}
	t := h.kcfg.Topics()
	for _, topic := range []string{t.Profiles, t.Identities} {
		ends, err := kafka.EndOffsets(ctx, h.kcfg, topic)
		if err != nil {
			tb.Fatal(err)
		}
		for p, end := range ends {
			err := kafka.ReadRange(ctx, h.kcfg, topic, p, 0, end, 20*time.Second, func(msgs []kafka.Message) error {
				for _, m := range msgs {
					k := string(m.Key)
					switch {
					case topic == t.Identities:
						s.identities[k] = string(m.Value)
					case m.Value == nil:
						delete(s.profiles, k)
					default:
						pr := new(profile.Profile)
						if err := json.Unmarshal(m.Value, pr); err != nil {
							return err
						}
						s.profiles[k] = pr
					}
				}
				return nil
			})
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
	return s
}

// settle reads the published state until ok accepts it, then once more
// after a pause to catch late double counts, and returns it.
func (h *harness) settle(tb testing.TB, what string, ok func(state) bool) state {
	tb.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		s := h.read(tb)
		if ok(s) {
			time.Sleep(300 * time.Millisecond)
			s = h.read(tb)
			if !ok(s) {
				pages, events := s.totals()
				tb.Fatalf("%s: held, then no longer: %d page views, %d events; profiles %s", what, pages, events, dump(s))
			}
			return s
		}
		if time.Now().After(deadline) {
			pages, events := s.totals()
			tb.Fatalf("%s: never settled; %d profiles, %d page views, %d events in all", what, len(s.profiles), pages, events)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func dump(s state) string {
	out := ""
	for id, p := range s.profiles {
		out += fmt.Sprintf("\n  %s key=%s ids=%v events=%d pages=%d", id, p.Key, p.IDs, p.Events, p.PageViews)
	}
	return out
}

func page(anon, user string) event.Event {
	return event.Event{Type: event.TypePage, AnonymousID: anon, UserID: user}
}

func identify(anon, user string, traits map[string]any) event.Event {
	return event.Event{Type: event.TypeIdentify, AnonymousID: anon, UserID: user, Traits: traits}
}

// triggers reads the triggers topic to its end.
func (h *harness) triggers(tb testing.TB) []profiler.Trigger {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := h.kcfg.Topics().Triggers
	ends, err := kafka.EndOffsets(ctx, h.kcfg, topic)
	if err != nil {
		tb.Fatal(err)
	}
	var out []profiler.Trigger
	for p, end := range ends {
		err := kafka.ReadRange(ctx, h.kcfg, topic, p, 0, end, 20*time.Second, func(msgs []kafka.Message) error {
			for _, m := range msgs {
				var t profiler.Trigger
				if err := json.Unmarshal(m.Value, &t); err != nil {
					return err
				}
				out = append(out, t)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// stats reads the stats topic to its end and sums the partitions'
// partials of each aggregate.
func (h *harness) stats(tb testing.TB) (map[string]stats.Funnel, map[string]stats.RFM) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := h.kcfg.Topics().Stats
	ends, err := kafka.EndOffsets(ctx, h.kcfg, topic)
	if err != nil {
		tb.Fatal(err)
	}
	latest := map[string][]byte{}
	for p, end := range ends {
		err := kafka.ReadRange(ctx, h.kcfg, topic, p, 0, end, 20*time.Second, func(msgs []kafka.Message) error {
			for _, m := range msgs {
				latest[string(m.Key)] = m.Value
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	funnels, rfms := map[string]stats.Funnel{}, map[string]stats.RFM{}
	for k, v := range latest {
		id, _, _ := strings.Cut(k, "@")
		if strings.HasPrefix(id, "rfm/") {
			var r stats.RFM
			if err := json.Unmarshal(v, &r); err != nil {
				tb.Fatal(err)
			}
			sum := rfms[id]
			sum.Add(r)
			rfms[id] = sum
			continue
		}
		var f stats.Funnel
		if err := json.Unmarshal(v, &f); err != nil {
			tb.Fatal(err)
		}
		sum := funnels[id]
		sum.Add(f)
		funnels[id] = sum
	}
	return funnels, rfms
}
