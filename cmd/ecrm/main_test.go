package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	testToken = "test-admin-token-0123456789"
	browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

// instance is a running `ecrm run` started by a test.
type instance struct {
	base string
	stop func() error
}

// mustStart boots `ecrm run` on free ports with its state in dir and
// returns once it listens.
func mustStart(tb testing.TB, dir string) *instance {
	tb.Helper()
	return mustStartToken(tb, dir, testToken)
}

// mustStartToken is mustStart with ECRM_ADMIN_TOKEN set to token ("" for
// none: the instance makes one and keeps it in dir).
func mustStartToken(tb testing.TB, dir, token string) *instance {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	getenv := func(k string) string {
		if k == "ECRM_ADMIN_TOKEN" {
			return token
		}
		return ""
	}
	args := []string{"run", "--addr", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0", "--data-dir", dir,
		"--partitions", "4", "--log-level", "warn"}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, getenv, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("run returned: %v", err))
		done <- err
	}()
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				base <- url
			}
		}
		close(base)
	}()
	var inst instance
	select {
	case u, ok := <-base:
		if !ok {
			cancel()
			tb.Fatalf("ecrm run stopped before listening: %v", <-done)
		}
		inst.base = u
	case <-time.After(60 * time.Second):
		cancel()
		tb.Fatal("ecrm run did not listen within 60s")
	}
	var once bool
	inst.stop = func() error {
		if once {
			return nil
		}
		once = true
		cancel()
		return <-done
	}
	tb.Cleanup(func() { _ = inst.stop() })
	return &inst
}

type reply struct {
	status int
	body   map[string]any
	header http.Header
}

func (in *instance) do(tb testing.TB, method, path, auth, body string) reply {
	tb.Helper()
	req, err := http.NewRequest(method, in.base+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("User-Agent", browserUA)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, header: res.Header}
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			tb.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return r
}

// profileWhen polls the profile of identifier until ok accepts it.
func (in *instance) profileWhen(tb testing.TB, identifier string, ok func(map[string]any) bool) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last reply
	for time.Now().Before(deadline) {
		last = in.do(tb, "GET", "/v1/profiles/"+identifier, "Bearer "+testToken, "")
		if last.status == 200 && ok(last.body) {
			return last.body
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("profile %s never as expected; last answer %d %v", identifier, last.status, last.body)
	return nil
}

func num(m map[string]any, k string) int {
	f, _ := m[k].(float64)
	return int(f)
}

func ids(m map[string]any) []string {
	var out []string
	for _, v := range m["ids"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

const firstBatch = `{"writeKey":"demo","batch":[
 {"type":"page","messageId":"m-1","anonymousId":"anon-1","name":"Home","context":{"page":{"url":"https://shop.example/"}}},
 {"type":"identify","messageId":"m-2","anonymousId":"anon-1","userId":"alice","traits":{"email":"Alice@Example.com","name":"Alice"}}
]}`

func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in := mustStart(t, dir)

	r := in.do(t, "POST", "/v1/batch", "", firstBatch)
	if r.status != 200 || num(r.body, "accepted") != 2 {
		t.Fatalf("POST /v1/batch = %d %v, want 200 with 2 accepted", r.status, r.body)
	}
	if c := r.header.Get("Set-Cookie"); !strings.Contains(c, "ecrm_vid=") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("Set-Cookie = %q, want the HttpOnly visitor cookie", c)
	}

	p := in.profileWhen(t, "u:alice", func(p map[string]any) bool {
		return num(p, "pageViews") == 1 && slices.Contains(ids(p), "a:anon-1")
	})
	if num(p, "events") != 2 {
		t.Errorf("events = %d, want 2", num(p, "events"))
	}
	if p["firstSeen"] == "" || p["lastSeen"] == "" {
		t.Errorf("firstSeen/lastSeen missing: %v", p)
	}
	if tr, _ := p["traits"].(map[string]any); tr["name"] != "Alice" || tr["email"] != nil {
		t.Errorf("traits = %v, want name kept and email not stored in clear", tr)
	}
	pid := p["id"].(string)
	for _, id := range []string{"a:anon-1", "e:alice@example.com", pid} {
		got := in.profileWhen(t, id, func(q map[string]any) bool { return q["id"] == pid })
		if got["id"] != pid {
			t.Errorf("GET /v1/profiles/%s id = %v, want %s", id, got["id"], pid)
		}
	}

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, auth, body string
			want                           int
		}{
			{"malformed JSON", "POST", "/v1/batch", "", `{"writeKey":"demo","batch":[`, 400},
			{"not an object", "POST", "/v1/batch", "", `[1,2]`, 400},
			{"empty body", "POST", "/v1/batch", "", ``, 400},
			{"no batch", "POST", "/v1/batch", "", `{"writeKey":"demo"}`, 400},
			{"unknown write key", "POST", "/v1/batch", "", `{"writeKey":"nope","batch":[]}`, 401},
			{"missing write key", "POST", "/v1/batch", "", `{"batch":[]}`, 401},
			{"all events invalid", "POST", "/v1/batch", "", `{"writeKey":"demo","batch":[{"type":"bogus","anonymousId":"x"}]}`, 400},
			{"track without event", "POST", "/v1/track", "", `{"writeKey":"demo","anonymousId":"x"}`, 400},
			{"missing admin token", "GET", "/v1/profiles/u:alice", "", "", 401},
			{"wrong admin token", "GET", "/v1/profiles/u:alice", "Bearer wrong", "", 401},
			{"bad identifier", "GET", "/v1/profiles/alice", "Bearer " + testToken, "", 400},
			{"junk identifier", "GET", "/v1/profiles/u:null", "Bearer " + testToken, "", 400},
			{"unknown profile", "GET", "/v1/profiles/u:nobody", "Bearer " + testToken, "", 404},
			{"unknown route", "GET", "/v1/nothing", "", "", 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := in.do(t, tc.method, tc.path, tc.auth, tc.body)
				if r.status != tc.want {
					t.Errorf("%s %s = %d %v, want %d", tc.method, tc.path, r.status, r.body, tc.want)
				}
				if msg, _ := r.body["error"].(string); msg == "" {
					t.Errorf("%s %s: body %v has no error message", tc.method, tc.path, r.body)
				}
			})
		}
		// A batch with one bad event keeps the good one and says which failed.
		r := in.do(t, "POST", "/v1/batch", "Basic "+basic("demo"), `{"batch":[{"type":"page","anonymousId":"anon-9","messageId":"m-9"},{"type":"track","anonymousId":"anon-9"}]}`)
		rej, _ := r.body["rejected"].([]any)
		if r.status != 200 || num(r.body, "accepted") != 1 || len(rej) != 1 || num(rej[0].(map[string]any), "index") != 1 {
			t.Errorf("mixed batch = %d %v, want 200, 1 accepted, index 1 rejected", r.status, r.body)
		}
	})

	for _, path := range []string{"/healthz", "/readyz"} {
		if r := in.do(t, "GET", path, "", ""); r.status != 200 {
			t.Errorf("GET %s = %d %v, want 200", path, r.status, r.body)
		}
	}

	// Restart on the same data dir: the profile is there, counts unchanged.
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	in = mustStart(t, dir)
	p2 := in.profileWhen(t, "u:alice", func(map[string]any) bool { return true })
	if num(p2, "pageViews") != 1 || num(p2, "events") != 2 {
		t.Fatalf("after restart pageViews=%d events=%d, want 1 and 2", num(p2, "pageViews"), num(p2, "events"))
	}
	// More hits: a new page from the same device (forwarded to alice), and a
	// client retry of the first page: counted once.
	more := `{"writeKey":"demo","batch":[
	 {"type":"page","messageId":"m-3","anonymousId":"anon-1","name":"Product"},
	 {"type":"page","messageId":"m-1","anonymousId":"anon-1","name":"Home"}]}`
	if r := in.do(t, "POST", "/v1/batch", "", more); r.status != 200 {
		t.Fatalf("POST more = %d %v", r.status, r.body)
	}
	in.profileWhen(t, "u:alice", func(p map[string]any) bool { return num(p, "pageViews") == 2 })
	time.Sleep(time.Second) // let any double count show
	p3 := in.profileWhen(t, "u:alice", func(map[string]any) bool { return true })
	if num(p3, "pageViews") != 2 || num(p3, "events") != 3 {
		t.Errorf("after more hits pageViews=%d events=%d, want 2 and 3", num(p3, "pageViews"), num(p3, "events"))
	}
	if r := in.do(t, "GET", "/metrics", "", ""); r.status != 200 {
		t.Errorf("GET /metrics = %d", r.status)
	}
}

func basic(user string) string {
	return strings.TrimSpace(base64Std(user + ":"))
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestTagServed(t *testing.T) {
	in := mustStart(t, t.TempDir())
	r := in.do(t, "GET", "/ecrm.js", "", "")
	if r.status != 200 || r.header.Get("ETag") == "" || !strings.Contains(r.header.Get("Content-Type"), "javascript") {
		t.Fatalf("GET /ecrm.js = %d %v", r.status, r.header)
	}
	req, _ := http.NewRequest("GET", in.base+"/ecrm.js", nil)
	req.Header.Set("If-None-Match", r.header.Get("ETag"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 304 {
		t.Errorf("GET /ecrm.js with If-None-Match = %d, want 304", res.StatusCode)
	}
	if r := in.do(t, "GET", "/demo/", "", ""); r.status != 200 {
		t.Errorf("GET /demo/ = %d, want 200", r.status)
	}
}

// TestStopDrains stops the process right after hits were accepted: after a
// restart on the same data dir every one of them is counted, once.
func TestStopDrains(t *testing.T) {
	dir := t.TempDir()
	in := mustStart(t, dir)
	const n = 40
	var b strings.Builder
	b.WriteString(`{"writeKey":"demo","batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"page","messageId":"drain-%d","anonymousId":"anon-drain"}`, i)
	}
	b.WriteString(`]}`)
	if r := in.do(t, "POST", "/v1/batch", "", b.String()); r.status != 200 || num(r.body, "accepted") != n {
		t.Fatalf("POST = %d %v", r.status, r.body)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	in = mustStart(t, dir)
	in.profileWhen(t, "a:anon-drain", func(p map[string]any) bool { return num(p, "pageViews") == n })
	time.Sleep(500 * time.Millisecond)
	if p := in.profileWhen(t, "a:anon-drain", func(map[string]any) bool { return true }); num(p, "pageViews") != n {
		t.Errorf("pageViews = %d after restart, want %d", num(p, "pageViews"), n)
	}
}

// TestExportAndErase exports a person's data and erases it: afterwards no
// identifier of theirs answers.
func TestExportAndErase(t *testing.T) {
	in := mustStart(t, t.TempDir())
	batch := `{"writeKey":"demo","batch":[
	 {"type":"page","anonymousId":"anon-gdpr"},
	 {"type":"identify","anonymousId":"anon-gdpr","userId":"erin","traits":{"email":"erin@example.com","name":"Erin"}}]}`
	if r := in.do(t, "POST", "/v1/batch", "", batch); r.status != 200 {
		t.Fatalf("POST = %d %v", r.status, r.body)
	}
	in.profileWhen(t, "u:erin", func(p map[string]any) bool { return num(p, "pageViews") == 1 })
	in.profileWhen(t, "e:erin@example.com", func(map[string]any) bool { return true })

	if r := in.do(t, "GET", "/v1/profiles/u:erin/export", "", ""); r.status != 401 {
		t.Errorf("export without token = %d, want 401", r.status)
	}
	r := in.do(t, "GET", "/v1/profiles/a:anon-gdpr/export", "Bearer "+testToken, "")
	if r.status != 200 || r.body["profile"] == nil || len(r.body["identifiers"].([]any)) != 3 {
		t.Fatalf("export = %d %v, want the profile and its 3 identifiers", r.status, r.body)
	}
	if r := in.do(t, "DELETE", "/v1/profiles/u:erin", "", ""); r.status != 401 {
		t.Errorf("delete without token = %d, want 401", r.status)
	}
	if r := in.do(t, "DELETE", "/v1/profiles/e:erin@example.com", "Bearer "+testToken, ""); r.status != 202 {
		t.Fatalf("delete = %d %v, want 202", r.status, r.body)
	}
	for _, id := range []string{"u:erin", "a:anon-gdpr", "e:erin@example.com"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := in.do(t, "GET", "/v1/profiles/"+id, "Bearer "+testToken, "")
			if r.status == 404 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s after erasure = %d %v, want 404", id, r.status, r.body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if r := in.do(t, "DELETE", "/v1/profiles/u:erin", "Bearer "+testToken, ""); r.status != 404 {
		t.Errorf("second delete = %d, want 404", r.status)
	}
}

func TestRecommend(t *testing.T) {
	in := mustStart(t, t.TempDir())
	view := func(anon, id, name string) string {
		return fmt.Sprintf(`{"type":"track","event":"Product Viewed","anonymousId":%q,"properties":{"product_id":%q,"name":%q,"category":"Shoes","price":49.5,"url":"/p/%s"}}`, anon, id, name, id)
	}
	batch := `{"writeKey":"demo","batch":[` + strings.Join([]string{
		view("r-v1", "p1", "Runner"), view("r-v1", "p2", "Trail"), view("r-v1", "p3", "Sandal"),
		view("r-v2", "p1", "Runner"), view("r-v2", "p2", "Trail"),
		view("r-v3", "p2", "Trail"), view("r-v3", "p4", "Boot"),
	}, ",") + `]}`
	if r := in.do(t, "POST", "/v1/batch", "", batch); r.status != 200 {
		t.Fatalf("POST = %d %v", r.status, r.body)
	}
	items := func(r reply) []map[string]any {
		var out []map[string]any
		list, _ := r.body["items"].([]any)
		for _, it := range list {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	var got []map[string]any
	for time.Now().Before(deadline) {
		r := in.do(t, "GET", "/v1/recommend?type=similar&item=p1&writeKey=demo", "", "")
		if r.status != 200 {
			t.Fatalf("recommend = %d %v", r.status, r.body)
		}
		// The model learns hit by hit: wait until it has learned them all
		// (p2, co-viewed with p1 in two sessions, first).
		if got = items(r); len(got) > 0 && got[0]["reason"] == "similar" && got[0]["id"] == "p2" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) == 0 || got[0]["id"] != "p2" || got[0]["name"] != "Trail" || got[0]["price"] != 49.5 {
		t.Fatalf("similar to p1 = %v, want p2 (Trail, 49.5) first", got)
	}
	for _, it := range got {
		if it["id"] == "p1" {
			t.Errorf("similar to p1 recommends p1 itself")
		}
	}
	// A visitor's own recent items drive personal; an unknown item falls
	// back to popular.
	r := in.do(t, "GET", "/v1/recommend?type=personal&anonymousId=r-v2&writeKey=demo&n=3", "", "")
	if len(items(r)) == 0 || len(items(r)) > 3 {
		t.Errorf("personal for r-v2 = %v, want 1 to 3 items", r.body)
	}
	// What a visitor bought is left out, unless bought=include.
	order := `{"writeKey":"demo","batch":[{"type":"track","event":"Order Completed","anonymousId":"r-v4","properties":{"order_id":"r-o1","revenue":49.5,"products":[{"product_id":"p2","price":49.5,"quantity":1}]}}]}`
	if r := in.do(t, "POST", "/v1/batch", "", order); r.status != 200 {
		t.Fatalf("POST order = %d %v", r.status, r.body)
	}
	in.profileWhen(t, "a:r-v4", func(p map[string]any) bool {
		o, _ := p["orders"].(map[string]any)
		b, _ := o["bought"].([]any)
		return len(b) == 1 && b[0] == "p2"
	})
	has := func(its []map[string]any, id string) bool {
		for _, it := range its {
			if it["id"] == id {
				return true
			}
		}
		return false
	}
	if its := items(in.do(t, "GET", "/v1/recommend?type=similar&item=p1&anonymousId=r-v4&writeKey=demo", "", "")); len(its) == 0 || has(its, "p2") {
		t.Errorf("similar to p1 for r-v4, who bought p2 = %v, want items without p2", its)
	}
	if its := items(in.do(t, "GET", "/v1/recommend?type=similar&item=p1&anonymousId=r-v4&bought=include&writeKey=demo", "", "")); !has(its, "p2") {
		t.Errorf("similar to p1 for r-v4 with bought=include = %v, want p2 among them", its)
	}
	r = in.do(t, "GET", "/v1/recommend?type=similar&item=nope&writeKey=demo", "", "")
	if its := items(r); len(its) == 0 || its[0]["reason"] != "popular" {
		t.Errorf("similar to an unknown item = %v, want popular items", r.body)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/v1/recommend?type=similar&item=p1", 401},
		{"/v1/recommend?type=similar&item=p1&writeKey=nope", 401},
		{"/v1/recommend?type=bogus&writeKey=demo", 400},
		{"/v1/recommend?type=popular&n=0&writeKey=demo", 400},
		{"/v1/recommend?type=popular&n=abc&writeKey=demo", 400},
		{"/v1/recommend?type=popular&bought=maybe&writeKey=demo", 400},
	} {
		if r := in.do(t, "GET", tc.path, "", ""); r.status != tc.want || r.body["error"] == nil {
			t.Errorf("GET %s = %d %v, want %d with an error", tc.path, r.status, r.body, tc.want)
		}
	}
}

// TestDecide creates a campaign, decides for visitors, checks the frequency
// cap through the recorded exposures, and reads the uplift report.
func TestDecide(t *testing.T) {
	in := mustStart(t, t.TempDir())
	auth := "Bearer " + testToken
	camp := `{"name":"Spring","placement":"home_banner","priority":2,"frequencyCap":2,"holdout":0.2,
	  "content":{"title":"Spring sale","url":"/sale"}}`
	if r := in.do(t, "PUT", "/v1/campaigns/spring", auth, camp); r.status != 200 {
		t.Fatalf("PUT campaign = %d %v", r.status, r.body)
	}
	if r := in.do(t, "PUT", "/v1/campaigns/bad", auth, `{"placement":"home_banner","segment":"orders >"}`); r.status != 400 {
		t.Errorf("PUT invalid campaign = %d %v, want 400", r.status, r.body)
	}
	if r := in.do(t, "PUT", "/v1/campaigns/x", "", camp); r.status != 401 {
		t.Errorf("PUT campaign without token = %d, want 401", r.status)
	}
	treat, held := 0, 0
	for i := range 40 {
		r := in.do(t, "GET", fmt.Sprintf("/v1/decide?placement=home_banner&anonymousId=d-%d&writeKey=demo", i), "", "")
		if r.status != 200 {
			t.Fatalf("decide = %d %v", r.status, r.body)
		}
		switch r.body["group"] {
		case "treatment":
			treat++
			if c, _ := r.body["campaign"].(map[string]any); c["id"] != "spring" {
				t.Errorf("treatment decision = %v, want the spring campaign", r.body)
			}
		case "holdout":
			held++
			if r.body["campaign"] != nil {
				t.Errorf("holdout decision shows %v, want nothing", r.body["campaign"])
			}
		default:
			t.Errorf("decision = %v, want a group", r.body)
		}
	}
	if treat == 0 || held == 0 {
		t.Errorf("treatment %d, holdout %d: want both", treat, held)
	}
	// The same visitor keeps its group, and the cap (2) ends the campaign
	// for them once the exposures reach their profile.
	first := in.do(t, "GET", "/v1/decide?placement=home_banner&anonymousId=cap-1&writeKey=demo", "", "")
	second := in.do(t, "GET", "/v1/decide?placement=home_banner&anonymousId=cap-1&writeKey=demo", "", "")
	if first.body["group"] != second.body["group"] {
		t.Errorf("groups %v then %v for one visitor", first.body["group"], second.body["group"])
	}
	in.profileWhen(t, "a:cap-1", func(p map[string]any) bool {
		c, _ := p["campaigns"].(map[string]any)
		x, _ := c["spring"].(map[string]any)
		return num(x, "count") == 2
	})
	if r := in.do(t, "GET", "/v1/decide?placement=home_banner&anonymousId=cap-1&writeKey=demo", "", ""); r.body["campaign"] != nil || r.body["group"] != nil {
		t.Errorf("decision past the cap = %v, want none", r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := in.do(t, "GET", "/v1/campaigns/spring/report", auth, "")
		if r.status != 200 {
			t.Fatalf("report = %d %v", r.status, r.body)
		}
		rep, _ := r.body["report"].(map[string]any)
		tr, _ := rep["treatment"].(map[string]any)
		ho, _ := rep["holdout"].(map[string]any)
		if num(tr, "visitors")+num(ho, "visitors") == 41 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report = %v, want 41 visitors in all", r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/v1/decide?placement=home_banner&anonymousId=x", 401},
		{"/v1/decide?anonymousId=x&writeKey=demo", 400},
		{"/v1/decide?placement=home_banner&writeKey=demo", 400},
		{"/v1/decide?placement=home_banner&anonymousId=null&writeKey=demo", 400},
		{"/v1/decide?placement=none&anonymousId=x&writeKey=demo", 200},
	} {
		if r := in.do(t, "GET", tc.path, "", ""); r.status != tc.want {
			t.Errorf("GET %s = %d %v, want %d", tc.path, r.status, r.body, tc.want)
		}
	}
	if r := in.do(t, "GET", "/v1/campaigns/nope/report", auth, ""); r.status != 404 {
		t.Errorf("report of an unknown campaign = %d, want 404", r.status)
	}
}
