package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// consoleBatch makes three people on the demo site: cal (from an email
// campaign: identified, two orders), bob (a user with one order) and an
// anonymous visitor with one page view; and a hit whose event name is
// HTML.
const consoleBatch = `{"writeKey":"demo","batch":[
 {"type":"page","messageId":"c-1","userId":"cal","name":"Home","context":{"page":{"url":"https://shop.example/?utm_medium=email"},"campaign":{"source":"newsletter","medium":"email","name":"spring"}}},
 {"type":"identify","messageId":"c-2","userId":"cal","traits":{"email":"cal@example.com","name":"Cal"}},
 {"type":"track","messageId":"c-3","userId":"cal","event":"Order Completed","properties":{"order_id":"cal-o1","revenue":120,"currency":"EUR","products":[{"product_id":"p01","name":"Runner","price":60,"quantity":2}]}},
 {"type":"track","messageId":"c-4","userId":"cal","event":"Order Completed","properties":{"order_id":"cal-o2","revenue":80,"currency":"EUR"}},
 {"type":"page","messageId":"c-5","userId":"bob","name":"Home"},
 {"type":"track","messageId":"c-6","userId":"bob","event":"Order Completed","properties":{"order_id":"bob-o1","revenue":30,"currency":"EUR"}},
 {"type":"page","messageId":"c-7","anonymousId":"console-anon-1","name":"Home"},
 {"type":"track","messageId":"c-8","anonymousId":"console-anon-1","event":"<img src=x onerror=alert(1)>"}
]}`

// get answers a GET with the admin token and the raw body.
func (in *instance) get(tb testing.TB, path string) (int, http.Header, string) {
	tb.Helper()
	req, _ := http.NewRequest("GET", in.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(raw)
}

// when polls path (with the admin token) until ok accepts its JSON answer.
func (in *instance) when(tb testing.TB, path string, ok func(map[string]any) bool) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last reply
	for time.Now().Before(deadline) {
		last = in.do(tb, "GET", path, "Bearer "+testToken, "")
		if last.status == 200 && ok(last.body) {
			return last.body
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("GET %s never as expected; last answer %d %v", path, last.status, last.body)
	return nil
}

func orderCount(p map[string]any) int {
	o, _ := p["orders"].(map[string]any)
	return num(o, "count")
}

func stagesOf(row any) map[string]int {
	out := map[string]int{}
	for k, v := range row.(map[string]any)["stages"].(map[string]any) {
		out[k] = int(v.(float64))
	}
	return out
}

func TestConsoleEndToEnd(t *testing.T) {
	in := mustStart(t, t.TempDir())
	auth := "Bearer " + testToken
	if r := in.do(t, "GET", "/v1/console/live", auth, ""); r.status == 404 {
		t.Fatal("the console is not mounted: serve.go must call personalize.NewConsole(...).Routes(app, auth)")
	}
	if r := in.do(t, "POST", "/v1/batch", "", consoleBatch); r.status != 200 || num(r.body, "accepted") != 8 {
		t.Fatalf("POST /v1/batch = %d %v", r.status, r.body)
	}
	in.profileWhen(t, "u:cal", func(p map[string]any) bool { return orderCount(p) == 2 })
	in.profileWhen(t, "u:bob", func(p map[string]any) bool { return orderCount(p) == 1 })

	today := time.Now().UTC()
	from, to := today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)
	funnelPath := "/v1/console/funnel?site=demo&from=" + from + "&to=" + to
	want := map[string]int{"visitor": 3, "engaged": 2, "identified": 2, "customer": 2, "repeat": 1}
	t.Run("funnel", func(t *testing.T) {
		f := in.when(t, funnelPath, func(b map[string]any) bool { return fmt.Sprint(stagesOf(b["total"])) == fmt.Sprint(want) })
		byChannel := map[string]map[string]int{}
		for _, row := range f["channels"].([]any) {
			byChannel[row.(map[string]any)["key"].(string)] = stagesOf(row)
		}
		if e, d := byChannel["email"], byChannel["direct"]; e["visitor"] != 1 || e["repeat"] != 1 || d["visitor"] != 2 || d["customer"] != 1 || d["repeat"] != 0 {
			t.Errorf("by channel = %v, want email: cal (to repeat), direct: bob (customer) and the anonymous visitor", byChannel)
		}
		cohorts := f["cohorts"].([]any)
		y, w := today.ISOWeek()
		if c := cohorts[len(cohorts)-1].(map[string]any); c["key"] != fmt.Sprintf("%04d-W%02d", y, w) || stagesOf(c)["visitor"] != 3 {
			t.Errorf("cohorts = %v, want this ISO week with 3 visitors", cohorts)
		}
		total := f["total"].(map[string]any)
		if num(total, "orders") != 3 || total["revenue"] != 230.0 {
			t.Errorf("orders, revenue = %v, %v; want 3, 230", total["orders"], total["revenue"])
		}
	})

	t.Run("value", func(t *testing.T) {
		v := in.when(t, "/v1/console/value?site=demo", func(b map[string]any) bool { return num(b, "customers") == 2 })
		scan := v["scan"].(map[string]any)
		if num(scan, "customers") != 2 || num(scan, "limit") != 200000 || scan["capped"] != false {
			t.Errorf("scan = %v, want 2 customers, limit 200000, not capped", scan)
		}
		if len(v["pareto"].([]any)) != 6 {
			t.Errorf("pareto = %v", v["pareto"])
		}
		tiers := 0
		for _, g := range v["tiers"].([]any) {
			tiers += num(g.(map[string]any), "count")
			if g.(map[string]any)["policy"].(map[string]any)["action"] == "" {
				t.Errorf("tier without a policy: %v", g)
			}
		}
		if tiers != 2 {
			t.Errorf("tiers count %d customers, want 2", tiers)
		}
	})

	t.Run("segments", func(t *testing.T) {
		if r := in.do(t, "PUT", "/v1/segments/repeaters", auth, `{"name":"Repeaters","expr":"orders >= 2"}`); r.status != 200 {
			t.Fatalf("PUT segment = %d %v", r.status, r.body)
		}
		r := in.do(t, "GET", "/v1/console/segments/repeaters/count", auth, "")
		if r.status != 200 || num(r.body, "count") != 1 {
			t.Errorf("count = %d %v, want 1", r.status, r.body)
		}
		r = in.do(t, "POST", "/v1/console/segments/preview", auth, `{"expr":"orders >= 1"}`)
		if r.status != 200 || num(r.body, "count") != 2 {
			t.Errorf("preview = %d %v, want 2", r.status, r.body)
		}
		if r := in.do(t, "POST", "/v1/console/segments/preview", auth, `{"expr":"orders >="}`); r.status != 400 {
			t.Errorf("preview of a broken expression = %d, want 400", r.status)
		}
		if r := in.do(t, "GET", "/v1/console/segments/nope/count", auth, ""); r.status != 404 {
			t.Errorf("count of an unknown segment = %d, want 404", r.status)
		}
		status, h, body := in.get(t, "/v1/console/segments/repeaters/members.csv")
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if status != 200 || err != nil || !strings.Contains(h.Get("Content-Disposition"), `filename="segment-repeaters.csv"`) {
			t.Fatalf("members.csv = %d %v %v", status, h, err)
		}
		if len(rows) != 2 || !strings.Contains(rows[1][1], "u:cal") || rows[1][3] != "2" || rows[1][4] != "200.00" || len(rows[1][2]) != 64 {
			t.Errorf("csv = %q, want a header and cal (2 orders, 200.00, an email hash)", rows)
		}
	})

	t.Run("customers", func(t *testing.T) {
		for _, q := range []string{"cal", "cal@example.com", "u:cal", "e:cal@example.com"} {
			r := in.do(t, "GET", "/v1/console/customers?q="+url.QueryEscape(q), auth, "")
			list, _ := r.body["customers"].([]any)
			if r.status != 200 || len(list) != 1 || list[0].(map[string]any)["name"] != "Cal" {
				t.Errorf("customers?q=%s = %d %v, want Cal", q, r.status, r.body)
			}
		}
		if r := in.do(t, "GET", "/v1/console/customers?q=", auth, ""); r.status != 400 {
			t.Errorf("customers?q= = %d, want 400", r.status)
		}
		r := in.do(t, "GET", "/v1/console/customers/u:cal", auth, "")
		if r.status != 200 {
			t.Fatalf("360 = %d %v", r.status, r.body)
		}
		orders := r.body["orders"].(map[string]any)
		recent := orders["recent"].([]any)
		if num(orders, "count") != 2 || len(recent) != 2 || recent[0].(map[string]any)["id"] != "cal-o2" {
			t.Errorf("orders = %v, want cal-o2 then cal-o1", orders)
		}
		segs, _ := json.Marshal(r.body["segments"])
		if !strings.Contains(string(segs), `"repeaters"`) {
			t.Errorf("segments = %s, want repeaters", segs)
		}
		value := r.body["value"].(map[string]any)
		if value["funnelStage"] != "repeat" || value["lifecycle"] != "active" || value["policies"] == nil {
			t.Errorf("value = %v", value)
		}
		if _, ok := r.body["recommendations"].([]any); !ok {
			t.Errorf("recommendations = %v", r.body["recommendations"])
		}
		if r := in.do(t, "GET", "/v1/console/customers/u:nobody", auth, ""); r.status != 404 {
			t.Errorf("360 of nobody = %d, want 404", r.status)
		}
	})

	t.Run("live", func(t *testing.T) {
		l := in.when(t, "/v1/console/live?n=50", func(b map[string]any) bool { return len(b["hits"].([]any)) >= 8 })
		var names []string
		for _, h := range l["hits"].([]any) {
			m := h.(map[string]any)
			names = append(names, fmt.Sprint(m["event"], m["name"]))
			if m["site"] != "demo" || m["time"] == nil {
				t.Errorf("hit = %v, want the demo site and a time", m)
			}
		}
		if !strings.Contains(strings.Join(names, "|"), "<img src=x onerror=alert(1)>") {
			t.Errorf("hits = %q, want the event named with HTML, as is", names)
		}
		if r := in.do(t, "GET", "/v1/console/live?n=500", auth, ""); r.status != 400 {
			t.Errorf("live?n=500 = %d, want 400", r.status)
		}
	})

	t.Run("auth and bad input", func(t *testing.T) {
		for _, path := range []string{"/v1/console/funnel", "/v1/console/value", "/v1/console/customers?q=cal", "/v1/console/customers/u:cal",
			"/v1/console/segments/repeaters/count", "/v1/console/segments/repeaters/members.csv", "/v1/console/live"} {
			for _, a := range []string{"", "Bearer wrong-token"} {
				if r := in.do(t, "GET", path, a, ""); r.status != 401 || r.body["error"] == nil {
					t.Errorf("GET %s with %q = %d %v, want 401", path, a, r.status, r.body)
				}
			}
		}
		if r := in.do(t, "POST", "/v1/console/segments/preview", "", `{"expr":"orders > 0"}`); r.status != 401 {
			t.Errorf("preview without the token = %d, want 401", r.status)
		}
		for _, q := range []string{"from=yesterday", "to=2026-02-30", "from=2026-03-02&to=2026-03-01", "from=2020-01-01&to=2026-01-01", "site=x/y"} {
			if r := in.do(t, "GET", "/v1/console/funnel?"+q, auth, ""); r.status != 400 || r.body["error"] == nil {
				t.Errorf("funnel?%s = %d %v, want 400 with a message", q, r.status, r.body)
			}
		}
	})

	t.Run("app", func(t *testing.T) {
		r := in.do(t, "GET", "/console/", "", "")
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("GET /console/ = %d %v, want the app without a token", r.status, r.header)
		}
	})
}
