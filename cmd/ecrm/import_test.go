package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runImport runs `ecrm import catalog args...` with the test's admin token.
func runImport(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "ECRM_ADMIN_TOKEN" {
			return testToken
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = run(ctx, append([]string{"import", "catalog"}, args...), getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// recItems returns the items of a recommend answer by id.
func recItems(r reply) (ids []string, byID map[string]map[string]any) {
	byID = map[string]map[string]any{}
	list, _ := r.body["items"].([]any)
	for _, it := range list {
		m := it.(map[string]any)
		ids = append(ids, m["id"].(string))
		byID[m["id"].(string)] = m
	}
	return ids, byID
}

// TestImportCatalogEndToEnd imports a CSV with a bad line through `ecrm
// import catalog` into a running `ecrm run`: recommendations carry the
// imported data over what product events taught, an item imported
// unavailable is never recommended, DELETE removes an import, and imports
// survive a restart on the same data dir.
func TestImportCatalogEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in := mustStart(t, dir)
	view := func(anon, id, name string) string {
		return fmt.Sprintf(`{"type":"track","event":"Product Viewed","anonymousId":%q,"properties":{"product_id":%q,"name":%q,"category":"Shoes","price":49.5}}`, anon, id, name)
	}
	var hits []string
	for i := range 4 {
		anon := fmt.Sprint("imp-v", i)
		hits = append(hits, view(anon, "p1", "Runner"), view(anon, "p2", "Trail"), view(anon, "p3", "Sandal"))
	}
	hits = append(hits, view("imp-v9", "p4", "Boot"))
	if r := in.do(t, "POST", "/v1/batch", "", `{"writeKey":"demo","batch":[`+strings.Join(hits, ",")+`]}`); r.status != 200 {
		t.Fatalf("POST /v1/batch = %d %v", r.status, r.body)
	}
	similar := "/v1/recommend?type=similar&item=p1&writeKey=demo&n=20"
	deadline := time.Now().Add(20 * time.Second)
	for {
		ids, byID := recItems(in.do(t, "GET", similar, "", ""))
		if byID["p2"] != nil && byID["p3"] != nil && byID["p2"]["reason"] == "similar" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the model never learned p2 and p3 as similar to p1: %v", ids)
		}
		time.Sleep(50 * time.Millisecond)
	}

	csv := writeFile(t, "items.csv", "id,name,price,category,available,image_url,colour\n"+
		"p2,Trail Pro,59.90,,yes,https://cdn.example/p2.jpg,red\n"+
		"p3,Sandal,49.5,,no,,blue\n"+
		"p9,Sock,abc,socks,,,\n"+
		"p5,Cap,12,hats,1,,green\n")
	stdout, stderr, err := runImport(t, "--target", in.base, "--batch", "2", csv)
	if err == nil || errors.Is(err, errUsage) {
		t.Errorf("import with a rejected line = %v, want a failure (exit status 1)", err)
	}
	if stdout != "imported=3 rejected=1\n" {
		t.Errorf("stdout = %q, want imported=3 rejected=1", stdout)
	}
	if !strings.Contains(stderr, `line 4: price "abc" is not a number`) {
		t.Errorf("stderr = %q, want the rejected line 4", stderr)
	}

	check := func(in *instance) {
		t.Helper()
		ids, byID := recItems(in.do(t, "GET", similar, "", ""))
		p2 := byID["p2"]
		if p2 == nil || p2["name"] != "Trail Pro" || p2["price"] != 59.9 || p2["category"] != "Shoes" || p2["image"] != "https://cdn.example/p2.jpg" {
			t.Errorf("similar to p1 = %v; p2 = %v, want the imported name and price over the learned category", ids, p2)
		}
		if byID["p3"] != nil {
			t.Errorf("similar to p1 recommends p3, imported unavailable: %v", ids)
		}
		ids, byID = recItems(in.do(t, "GET", "/v1/recommend?type=similar&item=p2&writeKey=demo&n=20", "", ""))
		if byID["p3"] != nil || byID["p1"] == nil {
			t.Errorf("similar to p2 = %v, want p1 and never p3", ids)
		}
		r := in.do(t, "GET", "/v1/catalog/p2", "Bearer "+testToken, "")
		if r.status != 200 || r.body["imported"] != true || r.body["name"] != "Trail Pro" {
			t.Errorf("GET /v1/catalog/p2 = %d %v", r.status, r.body)
		}
	}
	check(in)

	if r := in.do(t, "DELETE", "/v1/catalog/p5", "", ""); r.status != 401 {
		t.Errorf("DELETE without token = %d, want 401", r.status)
	}
	if r := in.do(t, "GET", "/v1/catalog/p5", "Bearer "+testToken, ""); r.status != 200 || r.body["name"] != "Cap" {
		t.Fatalf("GET /v1/catalog/p5 = %d %v", r.status, r.body)
	}
	if r := in.do(t, "DELETE", "/v1/catalog/p5", "Bearer "+testToken, ""); r.status != 204 {
		t.Fatalf("DELETE /v1/catalog/p5 = %d %v", r.status, r.body)
	}
	if r := in.do(t, "GET", "/v1/catalog/p5", "Bearer "+testToken, ""); r.status != 404 {
		t.Errorf("GET /v1/catalog/p5 after DELETE = %d %v, want 404", r.status, r.body)
	}

	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	in = mustStart(t, dir)
	deadline = time.Now().Add(30 * time.Second)
	for {
		r := in.do(t, "GET", "/readyz", "", "")
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after restart: %v", r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once ready, every import is back (the learned data from the snapshot).
	check(in)
	if r := in.do(t, "GET", "/v1/catalog/p5", "Bearer "+testToken, ""); r.status != 404 {
		t.Errorf("GET /v1/catalog/p5 after restart = %d %v, want 404 (deleted)", r.status, r.body)
	}
}

// fakeCatalog is a stand-in for POST /v1/catalog that fails on demand.
type fakeCatalog struct {
	mu     sync.Mutex
	fail   []int // statuses to answer, in order, before answering normally
	bodies []string
	auth   []string
}

func (f *fakeCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/v1/catalog" || r.Header.Get("Content-Type") != "application/x-ndjson" {
		w.WriteHeader(415)
		fmt.Fprint(w, `{"error":"wrong request"}`)
		return
	}
	if len(f.fail) > 0 {
		code := f.fail[0]
		f.fail = f.fail[1:]
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"status %d"}`, code)
		return
	}
	f.bodies = append(f.bodies, string(body))
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	// The server rejects items named "server-bad", by their line in the batch.
	var rejected []string
	for i, l := range lines {
		if strings.Contains(l, "server-bad") {
			rejected = append(rejected, fmt.Sprintf(`{"line":%d,"error":"refused by the server"}`, i+1))
		}
	}
	fmt.Fprintf(w, `{"accepted":%d,"rejected":[%s]}`, len(lines)-len(rejected), strings.Join(rejected, ","))
}

func TestImportCatalogRetries(t *testing.T) {
	old := importRetryBase
	importRetryBase = time.Millisecond
	t.Cleanup(func() { importRetryBase = old })
	fake := &fakeCatalog{fail: []int{503, 502}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	file := writeFile(t, "items.ndjson", `{"id":"a","price":1}`+"\n"+
		`{"id":"b","name":"server-bad"}`+"\n"+
		`not json`+"\n"+
		`{"id":"c","available":false}`+"\n")
	stdout, stderr, err := runImport(t, "--target", srv.URL+"/", "--batch", "2", file)
	if err == nil {
		t.Error("an import with rejected lines succeeded")
	}
	if stdout != "imported=2 rejected=2\n" {
		t.Errorf("stdout = %q, want imported=2 rejected=2", stdout)
	}
	if !strings.Contains(stderr, "line 2: refused by the server") || !strings.Contains(stderr, "line 3: not valid JSON") {
		t.Errorf("stderr = %q, want lines 2 (server's, mapped to the file) and 3", stderr)
	}
	if strings.Count(stderr, "sending it again") != 2 {
		t.Errorf("stderr = %q, want two retries", stderr)
	}
	if len(fake.bodies) != 2 || fake.bodies[1] != `{"id":"c","available":false}`+"\n" || fake.auth[0] != "Bearer "+testToken {
		t.Errorf("batches = %q, auth %q", fake.bodies, fake.auth)
	}
}

func TestImportCatalogStopsOnClientErrors(t *testing.T) {
	old := importRetryBase
	importRetryBase = time.Millisecond
	t.Cleanup(func() { importRetryBase = old })
	for _, code := range []int{401, 413} {
		fake := &fakeCatalog{fail: []int{code}}
		srv := httptest.NewServer(fake)
		file := writeFile(t, "items.csv", "id\na\nb\n")
		stdout, _, err := runImport(t, "--target", srv.URL, file)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(code)) {
			t.Errorf("%d: error = %v, want the server's answer", code, err)
		}
		if stdout != "imported=0 rejected=0\n" || len(fake.auth) != 1 {
			t.Errorf("%d: stdout %q after %d requests, want one request, nothing imported", code, stdout, len(fake.auth))
		}
	}
	// Nothing listens: connection errors are retried, then reported.
	srv := httptest.NewServer(http.NotFoundHandler())
	target := srv.URL
	srv.Close()
	file := writeFile(t, "items.csv", "id\na\n")
	_, stderr, err := runImport(t, "--target", target, file)
	if err == nil || !strings.Contains(err.Error(), "not stored after 6 attempts") || strings.Count(stderr, "sending it again") != 5 {
		t.Errorf("with nothing listening: %v\n%s", err, stderr)
	}
}

func TestImportCatalogStdinAndProgress(t *testing.T) {
	oldIn, oldEvery := importStdin, importProgressEvery
	t.Cleanup(func() { importStdin, importProgressEvery = oldIn, oldEvery })
	importProgressEvery = time.Hour // no tick: the line written at the end
	fake := &fakeCatalog{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	// FILE - with format auto: a JSON array, told by its first character.
	var b strings.Builder
	b.WriteString("\ufeff  [")
	for i := range 2500 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"s%d","price":%d}`, i, i)
	}
	b.WriteString("]")
	importStdin = strings.NewReader(b.String())
	stdout, stderr, err := runImport(t, "--target", srv.URL, "-")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if stdout != "imported=2500 rejected=0\n" || len(fake.bodies) != 3 {
		t.Errorf("stdout %q in %d batches, want 2500 in 3", stdout, len(fake.bodies))
	}
	if !strings.Contains(stderr, "import: ") || !strings.Contains(stderr, "2500 imported, 0 rejected") || !strings.Contains(stderr, "items/s") {
		t.Errorf("stderr = %q, want the plain progress line of the end", stderr)
	}
}

func TestImportCatalogUsage(t *testing.T) {
	file := writeFile(t, "items.csv", "id\na\n")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no file", nil},
		{"two files", []string{file, file}},
		{"bad batch", []string{"--batch", "0", file}},
		{"batch too big", []string{"--batch", "10001", file}},
		{"bad format", []string{"--format", "xml", file}},
		{"bad target", []string{"--target", "ftp://x", file}},
		{"unknown flag", []string{"--nope", file}},
	} {
		_, _, err := runImport(t, tc.args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%s: error = %v, want a usage error (exit status 2)", tc.name, err)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"import", "products", file}, func(string) string { return "" }, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("import products: %v, want a usage error", err)
	}
	if err := run(context.Background(), []string{"import"}, func(string) string { return "" }, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("import alone: %v, want a usage error", err)
	}
	// No token anywhere (the data dir holds none).
	err := run(context.Background(), []string{"import", "catalog", file}, func(k string) string {
		if k == "ECRM_DATA_DIR" {
			return t.TempDir()
		}
		return ""
	}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("without a token: %v, want a usage error", err)
	}
	errOut.Reset()
	if err := run(context.Background(), []string{"import", "catalog", "-h"}, func(string) string { return "" }, &out, &errOut); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "--batch") && !strings.Contains(errOut.String(), "-batch") {
		t.Errorf("import catalog -h: %v, %q", err, errOut.String())
	}
	// A missing file is no usage error.
	if _, _, err := runImport(t, filepath.Join(t.TempDir(), "missing.csv")); err == nil || errors.Is(err, errUsage) {
		t.Errorf("missing file: %v, want an error with exit status 1", err)
	}
}

// TestImportFormat picks the format by extension, then by content.
func TestImportFormatDetection(t *testing.T) {
	fake := &fakeCatalog{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for _, tc := range []struct{ name, content string }{
		{"a.csv", "id,name\nx1,X\n"},
		{"a.jsonl", `{"id":"x1","name":"X"}` + "\n"},
		{"a.json", `{"id":"x1","name":"X"}` + "\n"},
		{"a.json", `[{"id":"x1","name":"X"}]`},
		{"a.txt", "\n[{\"id\":\"x1\",\"name\":\"X\"}]"},
		{"noext", "sku,name\nx1,X\n"},
	} {
		fake.bodies = nil
		stdout, stderr, err := runImport(t, "--target", srv.URL, writeFile(t, tc.name, tc.content))
		if err != nil || stdout != "imported=1 rejected=0\n" || len(fake.bodies) != 1 || fake.bodies[0] != `{"id":"x1","name":"X","available":true}`+"\n" {
			t.Errorf("%s %q: %v %q %q, sent %q", tc.name, tc.content, err, stdout, stderr, fake.bodies)
		}
	}
	// --format wins over the extension.
	fake.bodies = nil
	if stdout, _, err := runImport(t, "--target", srv.URL, "--format", "ndjson", writeFile(t, "x.csv", `{"id":"x1","name":"X"}`)); err != nil || stdout != "imported=1 rejected=0\n" {
		t.Errorf("--format ndjson: %v %q", err, stdout)
	}
}
