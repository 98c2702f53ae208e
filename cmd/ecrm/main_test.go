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
