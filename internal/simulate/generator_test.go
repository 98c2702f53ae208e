package simulate

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/enrich"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/profile"
)

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// mustGenerator returns a generator for cfg, with testNow when it has no Now.
func mustGenerator(tb testing.TB, cfg Config) *Generator {
	tb.Helper()
	if cfg.Now.IsZero() {
		cfg.Now = testNow
	}
	g, err := NewGenerator(cfg)
	if err != nil {
		tb.Fatalf("NewGenerator: %v", err)
	}
	return g
}

// stream is a generated run shared by the tests that only read it.
type stream struct {
	batches []*Batch
	stats   Stats
	cfg     Config
}

var (
	sampleOnce sync.Once
	sample     stream
)

// sampleEvents is how many events the shared stream holds.
const sampleEvents = 12000

// mustSample returns batches worth sampleEvents events for seed 7.
func mustSample(tb testing.TB) stream {
	tb.Helper()
	sampleOnce.Do(func() {
		g := mustGenerator(tb, Config{Seed: 7, Events: sampleEvents})
		for g.Stats().Events < sampleEvents {
			sample.batches = append(sample.batches, g.Next())
		}
		sample.stats, sample.cfg = g.Stats(), g.Config()
	})
	if sample.batches == nil {
		tb.Fatal("no sample")
	}
	return sample
}

func mustBody(tb testing.TB, b *Batch, sentAt time.Time) []byte {
	tb.Helper()
	body, err := b.AppendBody(nil, "demo", sentAt)
	if err != nil {
		tb.Fatalf("AppendBody: %v", err)
	}
	return body
}

func TestDeterministic(t *testing.T) {
	bodies := func(cfg Config, n int) [][]byte {
		g := mustGenerator(t, cfg)
		var out [][]byte
		for range n {
			out = append(out, mustBody(t, g.Next(), testNow))
		}
		return out
	}
	a := bodies(Config{Seed: 42, Events: 3000}, 1000)
	b := bodies(Config{Seed: 42, Events: 3000}, 1000)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("batch %d differs with the same seed:\n%s\n%s", i, a[i], b[i])
		}
	}
	c := bodies(Config{Seed: 43, Events: 3000}, 1000)
	if slices.EqualFunc(a, c, bytes.Equal) {
		t.Error("seeds 42 and 43 made the same events")
	}
}

func TestRunIDChangesOnlyMessageIDs(t *testing.T) {
	g1 := mustGenerator(t, Config{Seed: 5, Events: 2000})
	g2 := mustGenerator(t, Config{Seed: 5, Events: 2000, RunID: "another run"})
	for i := range 500 {
		b1, b2 := g1.Next(), g2.Next()
		if len(b1.Events) != len(b2.Events) {
			t.Fatalf("batch %d: %d events, want %d", i, len(b2.Events), len(b1.Events))
		}
		for j := range b1.Events {
			e1, e2 := *b1.Events[j], *b2.Events[j]
			if e1.MessageID == e2.MessageID {
				t.Fatalf("batch %d event %d: same message id %s under another run id", i, j, e1.MessageID)
			}
			e1.MessageID, e2.MessageID = "", ""
			j1, _ := e1.AppendJSON(nil)
			j2, _ := e2.AppendJSON(nil)
			if !bytes.Equal(j1, j2) {
				t.Fatalf("batch %d event %d differs beyond its message id:\n%s\n%s", i, j, j1, j2)
			}
		}
	}
}

// TestEventsPassValidation decodes the first 6000 events of the sample
// as the collector does.
func TestEventsPassValidation(t *testing.T) {
	s := mustSample(t)
	sentAt := testNow.Add(3 * time.Hour) // sent later than generated: ages are kept
	ids := map[string]bool{}
	seen := map[string]bool{}
	for i, b := range s.batches {
		if len(ids) >= 6000 {
			break
		}
		if n := len(b.Events); n < 1 || n > 10 {
			t.Fatalf("batch %d has %d events, want 1 to 10", i, n)
		}
		body := mustBody(t, b, sentAt)
		dec, err := event.DecodeBatch(body)
		if err != nil {
			t.Fatalf("DecodeBatch(batch %d) = %v\n%s", i, err, body)
		}
		if len(dec.Rejected) > 0 {
			t.Fatalf("DecodeBatch(batch %d) rejected %v\n%s", i, dec.Rejected, body)
		}
		if dec.WriteKey != "demo" {
			t.Fatalf("batch %d: write key %q, want demo", i, dec.WriteKey)
		}
		for j, e := range dec.Events {
			if err := e.ValidateTime(e.SentAt); err != nil {
				t.Fatalf("batch %d event %d: %v", i, j, err)
			}
			if !e.SentAt.Equal(sentAt) {
				t.Fatalf("batch %d event %d: sentAt %v, want %v", i, j, e.SentAt, sentAt)
			}
			if want := b.Events[j].Timestamp.Add(3 * time.Hour); !e.Timestamp.Equal(want) {
				t.Fatalf("batch %d event %d: timestamp %v, want %v (its age kept)", i, j, e.Timestamp, want)
			}
			if raw, _ := e.AppendJSON(nil); len(raw) > event.MaxEventBytes {
				t.Fatalf("batch %d event %d is %d bytes", i, j, len(raw))
			}
			if e.MessageID == "" || ids[e.MessageID] {
				t.Fatalf("batch %d event %d: message id %q missing or repeated", i, j, e.MessageID)
			}
			ids[e.MessageID] = true
			seen[e.Type+" "+e.Event] = true
		}
	}
	for _, want := range []string{"page ", "identify ", "track Order Completed", "track Checkout Started", "track Product Removed",
		"track Email Link Clicked", "track Signed In", "track Signed Out", "track Products Searched"} {
		if !seen[want] {
			t.Errorf("no %q among the events checked", want)
		}
	}
}

func TestTimestampsInWindow(t *testing.T) {
	s := mustSample(t)
	from, to := testNow.AddDate(0, 0, -s.cfg.Days), testNow
	last := map[string]time.Time{}
	var first, latest time.Time
	for i, b := range s.batches {
		for _, e := range b.Events {
			ts := e.Timestamp
			if ts.Before(from) || ts.After(to) {
				t.Fatalf("batch %d: timestamp %v outside [%v, %v]", i, ts, from, to)
			}
			// One device's events come in order.
			if prev, ok := last[e.AnonymousID]; ok && ts.Before(prev) {
				t.Fatalf("batch %d: %s goes back in time from %v to %v", i, e.AnonymousID, prev, ts)
			}
			last[e.AnonymousID] = ts
			if first.IsZero() || ts.Before(first) {
				first = ts
			}
			latest = later(latest, ts)
		}
	}
	// The history spans the window.
	if first.After(from.Add(24*time.Hour)) || latest.Before(to.Add(-3*24*time.Hour)) {
		t.Errorf("events span %v to %v, want about %v to %v", first, latest, from, to)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func TestEventMix(t *testing.T) {
	g := mustGenerator(t, Config{Seed: 11, Events: 10000})
	for g.Stats().Events < 10000 {
		g.Next()
	}
	st := g.Stats()
	share := func(name string) float64 { return float64(st.Mix[name]) / float64(st.Events) }
	tests := []struct {
		name   string
		lo, hi float64
	}{
		{"page", 0.35, 0.50},
		{"Product Viewed", 0.14, 0.26},
		{"Product List Viewed", 0.14, 0.26},
		{"Product Clicked", 0.05, 0.12},
		{"Products Searched", 0.01, 0.05},
		{"Product Added", 0.01, 0.04},
		{"Product Removed", 0.0005, 0.006},
		{"Cart Viewed", 0.007, 0.03},
		{"Checkout Started", 0.003, 0.015},
		{"Order Completed", 0.002, 0.012},
		{"identify", 0.004, 0.02},
		{"Signed In", 0.0005, 0.006},
		{"Signed Out", 0.0001, 0.003},
		{"Email Link Clicked", 0.0005, 0.006},
	}
	for _, tc := range tests {
		if got := share(tc.name); got < tc.lo || got > tc.hi {
			t.Errorf("share of %s = %.4f, want %.4f to %.4f", tc.name, got, tc.lo, tc.hi)
		}
	}
	// The funnel narrows: views > adds > checkouts > orders.
	if !(st.Mix["Product Viewed"] > st.Mix["Product Added"] && st.Mix["Product Added"] > st.Mix["Checkout Started"] &&
		st.Mix["Checkout Started"] > st.Mix["Order Completed"]) {
		t.Errorf("funnel does not narrow: %v", st.Mix)
	}
	if bots := float64(st.BotSessions) / float64(st.Sessions); bots < 0.01 || bots > 0.05 {
		t.Errorf("bot share of sessions = %.3f, want 0.01 to 0.05", bots)
	}
}

func TestOrdersLongTailed(t *testing.T) {
	s := mustSample(t)
	var revenue []float64
	for _, b := range s.batches {
		for _, e := range b.Events {
			if e.Event == "Order Completed" {
				revenue = append(revenue, e.Properties["revenue"].(float64))
			}
		}
	}
	if len(revenue) < 40 {
		t.Fatalf("%d orders in %d events, want at least 40", len(revenue), sampleEvents)
	}
	slices.Sort(revenue)
	total := 0.0
	for _, r := range revenue {
		total += r
	}
	n := len(revenue)
	median, mean, top := revenue[n/2], total/float64(n), revenue[n-1]
	top20 := 0.0
	for _, r := range revenue[n-n/5:] {
		top20 += r
	}
	t.Logf("%d orders: median %.2f, mean %.2f, max %.2f, top 20%% make %.0f%% of revenue", n, median, mean, top, 100*top20/total)
	if mean < 1.2*median {
		t.Errorf("mean %.2f is not well above the median %.2f: not right-skewed", mean, median)
	}
	if top < 5*median {
		t.Errorf("largest order %.2f is under 5× the median %.2f: no long tail", top, median)
	}
	if top20/total < 0.4 {
		t.Errorf("the top 20%% of orders make %.0f%% of revenue, want at least 40%%", 100*top20/total)
	}
}

// TestIdentities checks logins, cross-device use, logouts, newsletter
// clicks and guests identified by email.
func TestIdentities(t *testing.T) {
	s := mustSample(t)
	devicesOf := map[string]map[string]bool{} // person → anonymous ids
	guests, clicks, bots := 0, 0, 0
	outVid := map[string]string{} // cookie → anonymous id that logged out
	renewed := 0
	total := 0
	for _, b := range s.batches {
		for _, e := range b.Events {
			total++
			if enrich.IsBot(b.UserAgent) {
				bots++
			}
			if old, ok := outVid[b.VisitorCookie]; ok && b.VisitorCookie != "" {
				if e.AnonymousID != old {
					renewed++
				}
				delete(outVid, b.VisitorCookie)
			}
			// A person is known by user id, else by an email trait.
			person := e.UserID
			if person == "" {
				person, _ = e.Traits["email"].(string)
			}
			if traits, ok := e.Context["traits"].(map[string]any); ok && person == "" {
				person, _ = traits["email"].(string)
			}
			if person != "" {
				if devicesOf[person] == nil {
					devicesOf[person] = map[string]bool{}
				}
				devicesOf[person][e.AnonymousID] = true
			}
			if e.Type == event.TypeIdentify && e.UserID == "" {
				if e.Traits["email"] == "" {
					t.Fatalf("guest identify without email: %+v", e)
				}
				guests++
			}
			if e.Event == "Email Link Clicked" {
				clicks++
				traits, _ := e.Context["traits"].(map[string]any)
				camp, _ := e.Context["campaign"].(map[string]any)
				if traits["email"] == nil || camp["medium"] != "email" {
					t.Fatalf("newsletter click without email trait or email campaign: %v", e.Context)
				}
			}
			if e.Event == "Signed Out" {
				outVid[b.VisitorCookie] = e.AnonymousID
			}
		}
	}
	multi := 0
	for _, anons := range devicesOf {
		if len(anons) > 1 {
			multi++
		}
	}
	t.Logf("%d people known by user id or email, %d of them on several anonymous ids, %d guest identifies, %d newsletter clicks, %d devices renewed after logout, %d bot events",
		len(devicesOf), multi, guests, clicks, renewed, bots)
	if len(devicesOf) < 20 || multi < 5 || guests < 10 || clicks < 5 || renewed < 2 {
		t.Error("too few logins, cross-device users, guests, newsletter clicks or logouts")
	}
	if share := float64(bots) / float64(total); share < 0.01 || share > 0.12 {
		t.Errorf("bot events are %.3f of all, want a small share", share)
	}
}

func TestChannels(t *testing.T) {
	s := mustSample(t)
	seen := map[string]int{}
	for _, b := range s.batches {
		for _, e := range b.Events {
			if e.Type == event.TypePage {
				seen[profile.TouchOf(e, e.Timestamp).Channel]++
			}
		}
	}
	for _, ch := range []string{profile.ChannelDirect, profile.ChannelSearch, profile.ChannelSocial, profile.ChannelEmail,
		profile.ChannelPaid, profile.ChannelReferral, profile.ChannelCampaign} {
		if seen[ch] == 0 {
			t.Errorf("no page from channel %s (seen %v)", ch, seen)
		}
	}
}

func TestUserAgentsParse(t *testing.T) {
	p := enrich.NewParser(0)
	for kind, ws := range userAgents {
		for _, ua := range ws.items {
			if got := p.Parse(ua); got.Device != kind || got.Bot {
				t.Errorf("Parse(%q) = device %s bot %v, want %s", ua, got.Device, got.Bot, kind)
			}
		}
	}
	for _, ua := range botAgents.items {
		if !p.Parse(ua).Bot {
			t.Errorf("Parse(%q) is not a bot", ua)
		}
	}
}

// TestBoundedPopulation runs a small population through many sessions:
// everyone comes back, nobody is in two sessions at once, memory stays put.
func TestBoundedPopulation(t *testing.T) {
	g := mustGenerator(t, Config{Seed: 3, Visitors: 40, Events: 8000, Days: 30})
	for g.Stats().Events < 8000 {
		g.Next()
	}
	if len(g.pool) != 40 {
		t.Errorf("%d visitors made, want 40", len(g.pool))
	}
	if len(g.active) > g.maxActive || len(g.active)+len(g.due) > 40+botSessionsActive(g) {
		t.Errorf("%d active sessions and %d waiting visitors for a population of 40", len(g.active), len(g.due))
	}
	inSession := map[*visitor]bool{}
	for _, s := range g.active {
		if s.v != nil {
			if inSession[s.v] || s.v.slot >= 0 {
				t.Fatalf("visitor %d is in two places at once", s.v.n)
			}
			inSession[s.v] = true
		}
	}
}

func botSessionsActive(g *Generator) int {
	n := 0
	for _, s := range g.active {
		if s.bot {
			n++
		}
	}
	return n
}

func TestCustomCatalog(t *testing.T) {
	ps, err := ParseCatalog([]byte(`[{"id":"a","name":"Anvil","category":"tools","price":120},
		{"id":"b","name":"Hammer","category":"tools","price":19.5,"currency":"USD"},
		{"id":"c","name":"Tent","category":"outdoor","price":300}]`))
	if err != nil {
		t.Fatal(err)
	}
	g := mustGenerator(t, Config{Seed: 1, Catalog: ps, SiteURL: "https://shop.example/", Events: 2000})
	seen := map[string]bool{}
	for g.Stats().Events < 2000 {
		for _, e := range g.Next().Events {
			if id, ok := e.Properties["product_id"].(string); ok {
				seen[id] = true
			}
			if u := e.Context["page"].(map[string]any)["url"].(string); !strings.HasPrefix(u, "https://shop.example/") {
				t.Fatalf("page url %q is not on the site", u)
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("products seen %v, want a, b and c", seen)
	}
}

func TestParseCatalog(t *testing.T) {
	tests := []struct {
		name, json string
	}{
		{"not json", `{`},
		{"object", `{"id":"a"}`},
		{"empty", `[]`},
		{"no id", `[{"name":"A","category":"c","price":1}]`},
		{"duplicate id", `[{"id":"a","name":"A","category":"c","price":1},{"id":"a","name":"B","category":"c","price":2}]`},
		{"no category", `[{"id":"a","name":"A","price":1}]`},
		{"zero price", `[{"id":"a","name":"A","category":"c","price":0}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseCatalog([]byte(tc.json)); !errors.Is(err, ErrCatalog) {
				t.Errorf("ParseCatalog(%q) = %v, want ErrCatalog", tc.json, err)
			}
		})
	}
	ps, err := DemoCatalog()
	if err != nil || len(ps) < 10 {
		t.Fatalf("DemoCatalog() = %d products, %v", len(ps), err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr bool
	}{
		{Config{}, false},
		{Config{Visitors: 1, Days: 1, Events: 1, SiteURL: "https://shop.example/"}, false},
		{Config{Visitors: -1}, true},
		{Config{Days: -1}, true},
		{Config{Days: 5000}, true},
		{Config{Events: -1}, true},
		{Config{SiteURL: "shop.example"}, true},
		{Config{SiteURL: "ftp://shop.example/"}, true},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err != nil) != tc.wantErr || err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%+v.Validate() = %v, want error %v", tc.cfg, err, tc.wantErr)
		}
	}
	if _, err := NewGenerator(Config{Catalog: []Product{{ID: "x"}}}); !errors.Is(err, ErrCatalog) {
		t.Errorf("NewGenerator with a bad catalog = %v, want ErrCatalog", err)
	}
}

func BenchmarkGenerator(b *testing.B) {
	g := mustGenerator(b, Config{Seed: 1, Events: 1 << 30})
	var buf []byte
	n := 0
	for b.Loop() {
		bt := g.Next()
		buf, _ = bt.AppendBody(buf[:0], "demo", testNow)
		n += len(bt.Events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
