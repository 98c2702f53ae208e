package personalize

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/recommend"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/stats"
	"github.com/ecrm/ecrm/internal/statsview"
	"github.com/ecrm/ecrm/internal/store"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
)

const consoleToken = "console-test-token-0123456789"

var consoleNow = time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC) // a Wednesday of ISO week 12

// consoleFixture is a console over a real store holding profiles, a stats
// view fed partials by hand, and a fixed list of live hits.
type consoleFixture struct {
	app  *fiber.App
	cons *Console
	segs *segment.Registry
}

func mustConsole(tb testing.TB, profiles []*profile.Profile, partials map[string]any, hits []event.Event) *consoleFixture {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(tb.TempDir(), logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	wb := db.NewBatch()
	for _, p := range profiles {
		raw, err := json.Marshal(p)
		if err != nil {
			tb.Fatal(err)
		}
		wb.Set([]byte("p/"+p.ID), raw)
		for _, id := range p.IDs {
			wb.Set([]byte("i/"+id), []byte(p.ID))
		}
	}
	if err := wb.Commit(); err != nil {
		tb.Fatal(err)
	}
	v, err := view.New(kafka.Config{}, db, view.Options{CacheBytes: 1 << 20}, logger, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	sv := statsview.New(kafka.Config{}, logger)
	var msgs []kafka.Message
	for key, val := range partials {
		raw, _ := json.Marshal(val)
		msgs = append(msgs, kafka.Message{Key: []byte(key), Value: raw})
	}
	if err := sv.Handle(context.Background(), 0, msgs); err != nil {
		tb.Fatal(err)
	}
	model, err := recommend.New(recommend.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	cat := new(catalog.Catalog)
	cat.Put(catalog.Item{ID: "p1", Name: "Trail Shoe", Category: "shoes", Price: 90})
	srv := New(Options{View: v, Model: model, Catalog: cat})
	segs := new(segment.Registry)
	camps := new(campaign.Registry)
	if err := camps.Put(campaign.Campaign{ID: "spring", Name: "Spring sale", Placement: "home"}); err != nil {
		tb.Fatal(err)
	}
	cons := NewConsole(ConsoleOptions{View: v, Stats: sv, Segments: segs, Campaigns: camps, Server: srv,
		Recent: func() []event.Event { return hits }, Now: func() time.Time { return consoleNow }})
	app := web.NewApp(logger, nil)
	cons.Routes(app, web.AdminAuth(consoleToken))
	return &consoleFixture{app: app, cons: cons, segs: segs}
}

type consoleReply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (f *consoleFixture) do(tb testing.TB, method, path, body string, auth bool) consoleReply {
	tb.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+consoleToken)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := f.app.Test(req, 10_000)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := consoleReply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			tb.Fatalf("%s %s: %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return r
}

// customerProfile returns a profile with orders of the given revenues, the
// last one daysAgo before consoleNow.
func customerProfile(id, user string, daysAgo int, revenues ...float64) *profile.Profile {
	p := profile.New(id, "u:"+user)
	p.IDs = append(p.IDs, "a:anon-"+user, "e:"+strings.Repeat("ab", 32))
	p.SiteID = "shop"
	p.Traits = map[string]any{"name": strings.ToUpper(user[:1]) + user[1:]}
	p.FirstSeen = consoleNow.AddDate(0, 0, -daysAgo-30)
	p.LastSeen = consoleNow.AddDate(0, 0, -daysAgo)
	for i, r := range revenues {
		at := consoleNow.AddDate(0, 0, -daysAgo-10*(len(revenues)-1-i))
		p.Orders.Recent = append(p.Orders.Recent, profile.Order{ID: user + "-o" + string(rune('1'+i)), At: at, Revenue: r})
		p.Orders.Count++
		p.Orders.Revenue += r
		if i == 0 {
			p.Orders.First = at
		}
		p.Orders.Last = at
	}
	p.Orders.Bought = []string{"p1"}
	p.RecentItems = []profile.RecentItem{{ID: "p1", At: p.LastSeen}}
	return p
}

func consoleProfiles() []*profile.Profile {
	alice := customerProfile("p_alice", "alice", 2, 120, 80)
	bob := customerProfile("p_bob", "bob", 200, 30)
	// A member whose profile id would be a formula in a spreadsheet.
	eve := customerProfile("=HYPERLINK(\"http://x\")", "eve", 5, 15)
	anon := profile.New("p_anon", "a:anon-9")
	anon.SiteID = "shop"
	anon.FirstSeen, anon.LastSeen = consoleNow.AddDate(0, 0, -1), consoleNow.AddDate(0, 0, -1)
	other := customerProfile("p_other", "olga", 3, 999)
	other.SiteID = "blog"
	return []*profile.Profile{alice, bob, eve, anon, other}
}

func consolePartials() map[string]any {
	f := func(v, e, i, c, r int64, orders int64, rev float64) stats.Funnel {
		return stats.Funnel{Stages: map[string]int64{"visitor": v, "engaged": e, "identified": i, "customer": c, "repeat": r},
			Transitions: map[string]int64{"visitor>engaged": e}, Orders: orders, Revenue: rev}
	}
	var rfm stats.RFM
	for _, p := range consoleProfiles() {
		if p.SiteID == "shop" {
			rfm.Change(stats.Customer{LastOrder: p.Orders.Last, Orders: p.Orders.Count, Revenue: p.Orders.Revenue}, 1)
		}
	}
	return map[string]any{
		// Two partitions of one day and channel add up.
		stats.FunnelID("shop", "2026-03-16", "search") + "@0": f(10, 6, 3, 2, 1, 3, 300),
		stats.FunnelID("shop", "2026-03-16", "search") + "@1": f(5, 2, 1, 1, 0, 1, 50),
		stats.FunnelID("shop", "2026-03-09", "email") + "@0":  f(4, 4, 4, 2, 0, 2, 100),
		// Out of the range or of the site.
		stats.FunnelID("shop", "2026-01-01", "search") + "@0": f(100, 0, 0, 0, 0, 0, 0),
		stats.FunnelID("blog", "2026-03-16", "search") + "@0": f(7, 0, 0, 0, 0, 0, 0),
		stats.RFMID("shop") + "@0":                            rfm,
	}
}

func TestConsoleFunnel(t *testing.T) {
	f := mustConsole(t, consoleProfiles(), consolePartials(), nil)
	r := f.do(t, "GET", "/v1/console/funnel?from=2026-03-01&to=2026-03-18&site=shop", "", true)
	if r.status != 200 {
		t.Fatalf("funnel = %d %s", r.status, r.raw)
	}
	var rep struct {
		Total    struct{ Stages map[string]int64 }
		Channels []struct {
			Key    string
			Stages map[string]int64
		}
		Cohorts []struct {
			Key, WeekStart string
			Stages         map[string]int64
		}
	}
	_ = json.Unmarshal([]byte(r.raw), &rep)
	want := map[string]int64{"visitor": 19, "engaged": 12, "identified": 8, "customer": 5, "repeat": 1}
	for k, n := range want {
		if rep.Total.Stages[k] != n {
			t.Errorf("total %s = %d, want %d", k, rep.Total.Stages[k], n)
		}
	}
	if len(rep.Channels) != 2 || rep.Channels[0].Key != "search" || rep.Channels[0].Stages["visitor"] != 15 {
		t.Errorf("channels = %+v, want search (15 visitors) then email", rep.Channels)
	}
	if len(rep.Cohorts) != 2 || rep.Cohorts[0].Key != "2026-W11" || rep.Cohorts[0].WeekStart != "2026-03-09" || rep.Cohorts[1].Stages["visitor"] != 15 {
		t.Errorf("cohorts = %+v, want 2026-W11 (from 2026-03-09) then 2026-W12 with 15 visitors", rep.Cohorts)
	}
	steps := r.body["total"].(map[string]any)["steps"].([]any)
	if rate := steps[0].(map[string]any)["rate"].(float64); rate != 0.6316 {
		t.Errorf("visitor>engaged rate = %v, want 12/19 = 0.6316", rate)
	}

	all := f.do(t, "GET", "/v1/console/funnel?from=2026-03-01&to=2026-03-18", "", true)
	if v := all.body["total"].(map[string]any)["stages"].(map[string]any)["visitor"]; v != 26.0 {
		t.Errorf("every site: visitors = %v, want 26", v)
	}
	for _, tc := range []struct{ name, query string }{
		{"bad from", "from=2026-3-1&to=2026-03-18"},
		{"bad to", "from=2026-03-01&to=tomorrow"},
		{"from after to", "from=2026-03-19&to=2026-03-18"},
		{"over a year", "from=2024-01-01&to=2026-03-18"},
		{"bad site", "site=a/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", "/v1/console/funnel?"+tc.query, "", true)
			if r.status != 400 || r.body["error"] == "" {
				t.Errorf("funnel?%s = %d %s, want 400 with a message", tc.query, r.status, r.raw)
			}
		})
	}
}

func TestConsoleValue(t *testing.T) {
	f := mustConsole(t, consoleProfiles(), consolePartials(), nil)
	r := f.do(t, "GET", "/v1/console/value?site=shop", "", true)
	if r.status != 200 {
		t.Fatalf("value = %d %s", r.status, r.raw)
	}
	var rep struct {
		Customers int64
		Pareto    []stats.ParetoPoint
		Scan      struct {
			Profiles, Customers int64
			Capped              bool
		}
		Grid      [5][5]struct{ R, F, Count int }
		Tiers     []struct{ Count int64 }
		Lifecycle []struct {
			Name   string
			Count  int64
			Policy struct{ Action string }
		}
		LTV []struct{ Count int64 }
	}
	_ = json.Unmarshal([]byte(r.raw), &rep)
	if rep.Customers != 3 || len(rep.Pareto) != 6 || rep.Pareto[5].RevenueShare != 1 {
		t.Errorf("customers %d, pareto %v; want 3 and a curve ending at 100%%", rep.Customers, rep.Pareto)
	}
	if rep.Scan.Profiles != 4 || rep.Scan.Customers != 3 || rep.Scan.Capped {
		t.Errorf("scan = %+v, want the 4 profiles of shop, 3 customers, not capped", rep.Scan)
	}
	var grid, tiers, life, ltv int64
	for _, row := range rep.Grid {
		for _, c := range row {
			grid += int64(c.Count)
		}
	}
	for _, g := range rep.Tiers {
		tiers += g.Count
	}
	for _, g := range rep.Lifecycle {
		life += g.Count
		if g.Policy.Action == "" {
			t.Errorf("lifecycle %s has no policy", g.Name)
		}
	}
	for _, b := range rep.LTV {
		ltv += b.Count
	}
	if grid != 3 || tiers != 3 || life != 4 || ltv != 3 {
		t.Errorf("grid %d, tiers %d, lifecycle %d, ltv %d; want 3, 3, 4, 3", grid, tiers, life, ltv)
	}

	capped := NewConsole(ConsoleOptions{View: f.cons.o.View, Stats: f.cons.o.Stats, Server: f.cons.o.Server, ScanLimit: 2})
	rc, err := capped.valueReport("")
	if err != nil || rc.Scan.Profiles != 2 || !rc.Scan.Capped || !strings.Contains(rc.Scan.Note, "first 2") {
		t.Errorf("capped scan = %+v, %v; want 2 profiles, capped, said so", rc.Scan, err)
	}
	if r := f.do(t, "GET", "/v1/console/value?site=a@b", "", true); r.status != 400 {
		t.Errorf("value?site=a@b = %d, want 400", r.status)
	}
}

func TestConsoleCustomers(t *testing.T) {
	f := mustConsole(t, consoleProfiles(), consolePartials(), nil)
	if err := f.segs.Put(segment.Segment{ID: "repeat", Name: "Repeat", Expr: "orders >= 2"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"alice", "p_alice"}, {"u:alice", "p_alice"}, {"a:anon-alice", "p_alice"}, {"p_bob", "p_bob"}, {"anon-bob", "p_bob"}, {"nobody", ""},
	} {
		r := f.do(t, "GET", "/v1/console/customers?q="+tc.q, "", true)
		list := r.body["customers"].([]any)
		got := ""
		if len(list) > 0 {
			got = list[0].(map[string]any)["id"].(string)
		}
		if r.status != 200 || got != tc.want || len(list) > 1 {
			t.Errorf("customers?q=%s = %d %v, want %q", tc.q, r.status, list, tc.want)
		}
	}
	if r := f.do(t, "GET", "/v1/console/customers?q=", "", true); r.status != 400 {
		t.Errorf("customers?q= = %d, want 400", r.status)
	}

	r := f.do(t, "GET", "/v1/console/customers/u:alice", "", true)
	if r.status != 200 {
		t.Fatalf("customer = %d %s", r.status, r.raw)
	}
	var c customer360
	if err := json.Unmarshal([]byte(r.raw), &c); err != nil {
		t.Fatal(err)
	}
	if c.Orders.Count != 2 || len(c.Orders.Recent) != 2 || c.Orders.Recent[0].ID != "alice-o2" || c.Orders.Bought[0].Name != "Trail Shoe" {
		t.Errorf("orders = %+v, want 2, newest first, with catalog names", c.Orders)
	}
	if len(c.Segments) != 1 || c.Segments[0].ID != "repeat" {
		t.Errorf("segments = %v, want [repeat]", c.Segments)
	}
	if c.Value.Lifecycle != profile.LifecycleActive || c.Value.RFM.R == 0 || len(c.Value.Policies) != 3 {
		t.Errorf("value = %+v, want active, scored, with 3 policies", c.Value)
	}
	kinds := map[string]int{}
	for _, e := range c.Timeline {
		kinds[e.Kind]++
	}
	if kinds["order"] != 2 || kinds["view"] != 1 || kinds["seen"] != 1 {
		t.Errorf("timeline kinds = %v, want 2 orders, 1 view, first seen", kinds)
	}
	if len(c.Identities) != 3 || c.Identities[0].Kind != "user" || c.Identities[0].Value != "alice" {
		t.Errorf("identities = %v", c.Identities)
	}
	if c.Recommendations == nil {
		t.Error("recommendations missing")
	}
	for path, want := range map[string]int{"/v1/console/customers/u:nobody": 404, "/v1/console/customers/zzz": 400} {
		if r := f.do(t, "GET", path, "", true); r.status != want {
			t.Errorf("GET %s = %d, want %d", path, r.status, want)
		}
	}
}

func TestConsoleSegments(t *testing.T) {
	f := mustConsole(t, consoleProfiles(), consolePartials(), nil)
	if err := f.segs.Put(segment.Segment{ID: "buyers", Expr: "orders >= 1 && site == \"shop\""}); err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "GET", "/v1/console/segments/buyers/count", "", true)
	if r.status != 200 || r.body["count"] != 3.0 || r.body["scanned"] != 5.0 {
		t.Errorf("count = %d %s, want 3 of 5", r.status, r.raw)
	}
	r = f.do(t, "POST", "/v1/console/segments/preview", `{"expr": "orders >= 2"}`, true)
	if r.status != 200 || r.body["count"] != 1.0 || r.body["sample"].([]any)[0] != "p_alice" {
		t.Errorf("preview = %d %s, want 1 (p_alice)", r.status, r.raw)
	}
	for _, body := range []string{`{"expr": "orders >"}`, `{"expr": ""}`, `{"expr": "orders"}`, `not json`} {
		if r := f.do(t, "POST", "/v1/console/segments/preview", body, true); r.status != 400 || r.body["error"] == "" {
			t.Errorf("preview %s = %d %s, want 400 with a message", body, r.status, r.raw)
		}
	}
	if r := f.do(t, "GET", "/v1/console/segments/nope/count", "", true); r.status != 404 {
		t.Errorf("count of an unknown segment = %d, want 404", r.status)
	}

	r = f.do(t, "GET", "/v1/console/segments/buyers/members.csv", "", true)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		r.header.Get("Content-Disposition") != `attachment; filename="segment-buyers.csv"` {
		t.Fatalf("members.csv = %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != "profile_id,identifiers,email_hash,orders,revenue,lifecycle,value_tier" {
		t.Fatalf("csv = %q, want a header and 3 members", rows)
	}
	found := false
	for _, row := range rows[1:] {
		if strings.HasPrefix(row[0], "=") {
			t.Errorf("cell %q starts with =: a formula in a spreadsheet", row[0])
		}
		if row[0] == `'=HYPERLINK("http://x")` {
			found = true
		}
		if row[0] == "p_alice" && (row[3] != "2" || row[4] != "200.00" || row[2] != strings.Repeat("ab", 32)) {
			t.Errorf("alice's row = %q", row)
		}
	}
	if !found {
		t.Errorf("csv = %q, want the formula-like id quoted", rows)
	}
}

func TestConsoleLiveAuthAndApp(t *testing.T) {
	hits := []event.Event{
		{Type: "track", Event: "<img src=x onerror=alert(1)>", UserID: "alice", SiteID: "shop", Timestamp: consoleNow,
			Context: map[string]any{"page": map[string]any{"url": "https://shop.example/p/1"}}, UA: &event.UA{Device: "mobile", Browser: "Safari"}},
		{Type: "page", Name: "Home", AnonymousID: "anon-1", ReceivedAt: consoleNow.Add(-time.Minute)},
	}
	f := mustConsole(t, consoleProfiles(), consolePartials(), hits)
	r := f.do(t, "GET", "/v1/console/live", "", true)
	list, _ := r.body["hits"].([]any)
	if r.status != 200 || len(list) != 2 {
		t.Fatalf("live = %d %s", r.status, r.raw)
	}
	first := list[0].(map[string]any)
	if first["event"] != "<img src=x onerror=alert(1)>" || first["url"] != "https://shop.example/p/1" || first["device"] != "mobile" {
		t.Errorf("first hit = %v", first)
	}
	if second := list[1].(map[string]any); second["time"] == nil || second["name"] != "Home" {
		t.Errorf("second hit = %v, want its receivedAt as time", second)
	}
	if r := f.do(t, "GET", "/v1/console/live?n=1", "", true); len(r.body["hits"].([]any)) != 1 {
		t.Errorf("live?n=1 = %s", r.raw)
	}
	if r := f.do(t, "GET", "/v1/console/live?n=0", "", true); r.status != 400 {
		t.Errorf("live?n=0 = %d, want 400", r.status)
	}

	for _, path := range []string{"/v1/console/funnel", "/v1/console/value", "/v1/console/customers?q=alice",
		"/v1/console/customers/u:alice", "/v1/console/segments/buyers/count", "/v1/console/segments/buyers/members.csv", "/v1/console/live"} {
		if r := f.do(t, "GET", path, "", false); r.status != 401 || r.body["error"] == "" {
			t.Errorf("GET %s without the token = %d %s, want 401", path, r.status, r.raw)
		}
	}
	if r := f.do(t, "POST", "/v1/console/segments/preview", `{"expr":"orders > 0"}`, false); r.status != 401 {
		t.Errorf("preview without the token = %d, want 401", r.status)
	}

	r = f.do(t, "GET", "/console/", "", false)
	if r.status != 200 || !strings.Contains(r.raw, `id="login-form"`) || !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET /console/ = %d %v, want the app with a strict CSP", r.status, r.header)
	}
	if r := f.do(t, "GET", "/console", "", false); r.status != 302 || r.header.Get("Location") != "/console/" {
		t.Errorf("GET /console = %d %v, want a redirect to /console/", r.status, r.header)
	}
	for _, file := range []string{"app.js", "lib.js", "charts.js", "funnel.js", "value.js", "customers.js", "segments.js", "campaigns.js", "live.js", "app.css"} {
		if r := f.do(t, "GET", "/console/"+file, "", false); r.status != 200 || len(r.raw) == 0 {
			t.Errorf("GET /console/%s = %d", file, r.status)
		}
	}
	// The app never puts data in HTML.
	for _, file := range []string{"app.js", "lib.js", "charts.js", "funnel.js", "value.js", "customers.js", "segments.js", "campaigns.js", "live.js"} {
		if r := f.do(t, "GET", "/console/"+file, "", false); strings.Contains(r.raw, "innerHTML") || strings.Contains(r.raw, "insertAdjacentHTML") || strings.Contains(r.raw, "document.write") {
			t.Errorf("%s writes HTML", file)
		}
	}
}
