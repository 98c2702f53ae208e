package personalize

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/web"
)

const catalogToken = "catalog-test-token-0123456789"

// catalogFixture is the catalog admin API over an embedded broker: items go
// through the real catalog topic and come back through its watcher.
type catalogFixture struct {
	app  *fiber.App
	cat  *catalog.Catalog
	kcfg kafka.Config
}

func catalogApp(logger *slog.Logger, admin *CatalogAdmin) *fiber.App {
	app := web.NewApp(logger, nil, web.LargeBody{Method: fiber.MethodPost, Path: "/v1/catalog",
		Limit: CatalogBodyLimit, Name: CatalogBodyLimitName, Admit: web.HasAdminToken(catalogToken)})
	admin.Routes(app, web.AdminAuth(catalogToken))
	return app
}

// startCatalogWatcher follows the catalog topic into cat until the test
// ends, and returns once it has read what was there.
func startCatalogWatcher(tb testing.TB, kcfg kafka.Config, cat *catalog.Catalog) *configtopic.Watcher {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	w := configtopic.NewTopic(kcfg, kcfg.Topics().Catalog, configtopic.WholeKeys("item"),
		map[string]configtopic.Handler{"item": CatalogHandler(cat)}, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for !w.Ready() {
		if time.Now().After(deadline) {
			tb.Fatal("catalog watcher not ready within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return w
}

func mustCatalog(tb testing.TB) *catalogFixture {
	tb.Helper()
	b, err := broker.Start("127.0.0.1:0", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	kcfg := kafka.Config{Brokers: []string{b.Addr()}, Partitions: 3}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, kcfg); err != nil {
		tb.Fatal(err)
	}
	pub := kafka.NewProducer(kcfg, false, kafka.ProducerOptions{})
	tb.Cleanup(func() { pub.Close() })
	cat := new(catalog.Catalog)
	w := startCatalogWatcher(tb, kcfg, cat)
	logger := slog.New(slog.DiscardHandler)
	admin := NewCatalogAdmin(CatalogOptions{Catalog: cat, Pub: pub, Topic: kcfg.Topics().Catalog, CaughtUp: w.CaughtUp, Logger: logger})
	return &catalogFixture{app: catalogApp(logger, admin), cat: cat, kcfg: kcfg}
}

type catalogReply struct {
	status int
	raw    string
	body   map[string]any
}

func doCatalog(tb testing.TB, app *fiber.App, method, path, contentType, body, token string) catalogReply {
	tb.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := app.Test(req, 30_000)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := catalogReply{status: res.StatusCode, raw: string(raw)}
	if len(raw) > 0 {
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			tb.Fatalf("%s %s: %d answer %q is not JSON", method, path, res.StatusCode, raw)
		}
		if err := json.Unmarshal(raw, &r.body); err != nil {
			tb.Fatalf("%s %s: %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return r
}

func (f *catalogFixture) do(tb testing.TB, method, path, contentType, body string) catalogReply {
	tb.Helper()
	return doCatalog(tb, f.app, method, path, contentType, body, catalogToken)
}

func rejectedLines(tb testing.TB, body map[string]any) map[int]string {
	tb.Helper()
	list, ok := body["rejected"].([]any)
	if !ok {
		tb.Fatalf("no rejected list in %v", body)
	}
	out := map[int]string{}
	for _, r := range list {
		m := r.(map[string]any)
		out[int(m["line"].(float64))] = m["error"].(string)
	}
	return out
}

func TestCatalogImport(t *testing.T) {
	f := mustCatalog(t)
	// Learned from product events before the import.
	f.cat.Put(catalog.Item{ID: "p1", Name: "Learned shoe", Price: 70, Category: "shoes", Image: "https://cdn.example/p1.jpg"})
	f.cat.Put(catalog.Item{ID: "p9", Name: "Learned only"})

	t.Run("auth", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{{"POST", "/v1/catalog"}, {"GET", "/v1/catalog/p1"}, {"DELETE", "/v1/catalog/p1"}} {
			r := doCatalog(t, f.app, tc.method, tc.path, "text/csv", "id\np1\n", "")
			if r.status != 401 {
				t.Errorf("%s %s without token = %d, want 401", tc.method, tc.path, r.status)
			}
			r = doCatalog(t, f.app, tc.method, tc.path, "text/csv", "id\np1\n", "wrong-token-0123456789")
			if r.status != 401 {
				t.Errorf("%s %s with a wrong token = %d, want 401", tc.method, tc.path, r.status)
			}
		}
	})

	csv := "id,name,price,category,available,url\n" +
		"p1,Trail Shoe,89.90,,true,https://shop.example/p1\n" +
		"p2,Rain Jacket,abc,jackets,,\n" +
		"p3,Old Boot,40,shoes,no,\n" +
		"p4,\"bad \"quote\",1,x,,\n"
	r := f.do(t, "POST", "/v1/catalog", "text/csv; charset=utf-8", csv)
	if r.status != 200 || r.body["accepted"] != 2.0 {
		t.Fatalf("POST CSV = %d %s, want 200 with 2 accepted", r.status, r.raw)
	}
	rej := rejectedLines(t, r.body)
	if len(rej) != 2 || !strings.Contains(rej[3], `price "abc"`) || !strings.Contains(rej[5], "bad CSV quoting") {
		t.Errorf("rejected = %v, want lines 3 (price) and 5 (quoting)", rej)
	}

	// Read your writes: the answer came once this replica applied them.
	r = f.do(t, "GET", "/v1/catalog/p1", "", "")
	if r.status != 200 || r.body["name"] != "Trail Shoe" || r.body["price"] != 89.9 || r.body["category"] != "shoes" ||
		r.body["image"] != "https://cdn.example/p1.jpg" || r.body["imported"] != true || r.body["available"] != true {
		t.Errorf("GET p1 = %d %s, want the import over what was learned", r.status, r.raw)
	}
	if !f.cat.Available("p1") || f.cat.Available("p3") {
		t.Errorf("Available p1 %v, p3 %v; want true, false", f.cat.Available("p1"), f.cat.Available("p3"))
	}
	r = f.do(t, "GET", "/v1/catalog/p3", "", "")
	if r.status != 200 || r.body["available"] != false || r.body["unavailable"] != true {
		t.Errorf("GET p3 = %d %s, want it unavailable", r.status, r.raw)
	}
	r = f.do(t, "GET", "/v1/catalog/p9", "", "")
	if r.status != 200 || r.body["name"] != "Learned only" || r.body["imported"] != false {
		t.Errorf("GET p9 = %d %s, want the learned item", r.status, r.raw)
	}

	t.Run("ndjson and json", func(t *testing.T) {
		r := f.do(t, "POST", "/v1/catalog", "application/x-ndjson",
			`{"product_id":"n1","name":"Sock","price":"4.5","image_url":"https://cdn.example/n1.png"}`+"\n"+`{"id":"n2","available":false}`+"\n"+`nope`+"\n")
		if r.status != 200 || r.body["accepted"] != 2.0 || rejectedLines(t, r.body)[3] == "" {
			t.Errorf("POST NDJSON = %d %s", r.status, r.raw)
		}
		r = f.do(t, "POST", "/v1/catalog", "application/json", `[{"sku":"j1","name":"Cap","price":12},{"id":"j2","url":"javascript:x"}]`)
		if r.status != 200 || r.body["accepted"] != 1.0 || !strings.Contains(rejectedLines(t, r.body)[2], "url must be") {
			t.Errorf("POST JSON = %d %s", r.status, r.raw)
		}
		if it, _ := f.cat.Get("n1"); it.Price != 4.5 || it.Image != "https://cdn.example/n1.png" {
			t.Errorf("n1 = %+v", it)
		}
		if it, ok := f.cat.Get("j1"); !ok || it.Name != "Cap" {
			t.Errorf("j1 = %+v", it)
		}
		if r := f.do(t, "GET", "/v1/catalog/n2", "", ""); r.body["available"] != false {
			t.Errorf("n2 = %s", r.raw)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		many := "id\n" + strings.Repeat("x\n", MaxCatalogItems+1)
		for _, tc := range []struct {
			name, contentType, body string
			want                    int
			msg                     string
		}{
			{"no content type", "", "id\np1\n", 415, "Content-Type must be"},
			{"plain text", "text/plain", "id\np1\n", 415, "Content-Type must be"},
			{"latin1", "text/csv; charset=iso-8859-1", "id\np1\n", 415, "UTF-8"},
			{"empty csv", "text/csv", "", 400, "the CSV is empty"},
			{"header only", "text/csv", "id,name\n", 400, "the body holds no item"},
			{"no id column", "text/csv", "name,price\nShoe,1\n", 400, "no id column"},
			{"no valid item", "text/csv", "id,price\np1,-1\n,3\n", 400, "no valid item: line 2: price must be"},
			{"broken array", "application/json", `[{"id":"a"},`, 400, "broken JSON array"},
			{"object not array", "application/json", `{"id":"a"}`, 400, "must be an array"},
			{"too many", "text/csv", many, 400, "more than 10000 items"},
			{"empty ndjson", "application/x-ndjson", "\n\n", 400, "the body holds no item"},
		} {
			r := f.do(t, "POST", "/v1/catalog", tc.contentType, tc.body)
			if r.status != tc.want || !strings.Contains(fmt.Sprint(r.body["error"]), tc.msg) {
				t.Errorf("%s: %d %s, want %d with %q", tc.name, r.status, r.raw, tc.want, tc.msg)
			}
		}
		if r := f.do(t, "POST", "/v1/catalog", "text/csv", "id,price\np1,-1\n"); len(rejectedLines(t, r.body)) != 1 {
			t.Errorf("a 400 for no valid item lists no rejected line: %s", r.raw)
		}
		if _, ok := f.cat.Get("x"); ok {
			t.Error("an import of too many items stored some")
		}
		if it, _ := f.cat.Get("p1"); it.Price != 89.9 {
			t.Errorf("a rejected request changed p1: %+v", it)
		}
		for _, path := range []string{"/v1/catalog/nope", "/v1/catalog/" + strings.Repeat("x", 300), "/v1/catalog/a%2Fb"} {
			r := f.do(t, "GET", path, "", "")
			if r.status != 404 && r.status != 400 {
				t.Errorf("GET %s = %d %s, want 404 or 400", path, r.status, r.raw)
			}
		}
	})

	t.Run("never a 5xx", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		alphabet := []byte("id,name,price,available\n\"{}[]:x1 \r\t-.e\\\xff")
		for i := range 200 {
			b := make([]byte, rng.IntN(200))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
			ct := []string{"text/csv", "application/x-ndjson", "application/json"}[i%3]
			r := f.do(t, "POST", "/v1/catalog", ct, string(b))
			if r.status >= 500 || (r.status != 200 && r.status != 400) {
				t.Fatalf("POST %s %q = %d %s", ct, b, r.status, r.raw)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if r := f.do(t, "DELETE", "/v1/catalog/p1", "", ""); r.status != 204 {
			t.Fatalf("DELETE p1 = %d %s", r.status, r.raw)
		}
		// What product events taught stays.
		r := f.do(t, "GET", "/v1/catalog/p1", "", "")
		if r.status != 200 || r.body["name"] != "Learned shoe" || r.body["price"] != 70.0 || r.body["imported"] != false {
			t.Errorf("GET p1 after DELETE = %d %s, want the learned item", r.status, r.raw)
		}
		if r := f.do(t, "DELETE", "/v1/catalog/p3", "", ""); r.status != 204 {
			t.Fatalf("DELETE p3 = %d %s", r.status, r.raw)
		}
		if r := f.do(t, "GET", "/v1/catalog/p3", "", ""); r.status != 404 {
			t.Errorf("GET p3 after DELETE = %d %s, want 404", r.status, r.raw)
		}
		if !f.cat.Available("p3") {
			t.Error("a deleted item is still unavailable")
		}
		for _, id := range []string{"p3", "p9", "nope"} {
			if r := f.do(t, "DELETE", "/v1/catalog/"+id, "", ""); r.status != 404 {
				t.Errorf("DELETE %s (not imported) = %d %s, want 404", id, r.status, r.raw)
			}
		}
	})

	t.Run("another replica", func(t *testing.T) {
		// A replica started now reads the whole topic, tombstones included.
		other := new(catalog.Catalog)
		startCatalogWatcher(t, f.kcfg, other)
		for id, want := range map[string]bool{"p1": false, "p2": false, "p3": false, "n1": true, "n2": true, "j1": true} {
			if _, ok := other.Imported(id); ok != want {
				t.Errorf("other replica: %s imported %v, want %v", id, ok, want)
			}
		}
		if it, _ := other.Get("j1"); it != (catalog.Item{ID: "j1", Name: "Cap", Price: 12}) {
			t.Errorf("other replica: j1 = %+v", it)
		}
	})
}

func TestCatalogBodyLimits(t *testing.T) {
	f := mustCatalog(t)
	var big strings.Builder
	big.WriteString("id,name,price\n")
	for i := 0; big.Len() < 2<<20; i++ {
		fmt.Fprintf(&big, "item-%d,%s,%d\n", i, strings.Repeat("n", 200), i%100)
		if i == 9_000 {
			break
		}
	}
	if big.Len() <= web.BodyLimit {
		t.Fatalf("test body of %d bytes is not above the usual limit", big.Len())
	}
	r := f.do(t, "POST", "/v1/catalog", "text/csv", big.String())
	if r.status != 200 || r.body["accepted"] != 9001.0 {
		t.Fatalf("POST of %d bytes with the token = %d %.200s", big.Len(), r.status, r.raw)
	}
	if f.cat.Len() != 9001 {
		t.Errorf("catalog holds %d items, want 9001", f.cat.Len())
	}
	// Bodies over the limit are refused from the headers, before the body
	// is read (which is why none is sent); Fiber's app.Test cannot show
	// those answers, so they go through a listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.app.Listener(ln) }()
	t.Cleanup(func() { _ = f.app.Shutdown() })
	headersOnly := func(method, token string, length int) (int, string) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		auth := ""
		if token != "" {
			auth = "Authorization: Bearer " + token + "\r\n"
		}
		fmt.Fprintf(conn, "%s /v1/catalog HTTP/1.1\r\nHost: ecrm\r\n%sContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n", method, auth, length)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	for _, tc := range []struct {
		name, method, token string
		length              int
		want                string
	}{
		{"without the token", "POST", "", big.Len(), "request body is larger than 512 KB (16 MB with the admin token)"},
		{"with a wrong token", "POST", "wrong-token-0123456789", big.Len(), "request body is larger than 512 KB (16 MB with the admin token)"},
		{"above 16 MB", "POST", catalogToken, CatalogBodyLimit + 1, "request body is larger than 16 MB"},
		{"another route", "PUT", catalogToken, big.Len(), `{"error":"request body is larger than 512 KB"}`},
	} {
		status, raw := headersOnly(tc.method, tc.token, tc.length)
		if status != 413 || !strings.Contains(raw, tc.want) {
			t.Errorf("%s: %d %s, want 413 %q", tc.name, status, raw, tc.want)
		}
	}
}

// failingPublisher never stores anything.
type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, ...kafka.Message) error {
	return errors.New("kafka is down")
}

func TestCatalogImportKafkaDown(t *testing.T) {
	cat := new(catalog.Catalog)
	logger := slog.New(slog.DiscardHandler)
	app := catalogApp(logger, NewCatalogAdmin(CatalogOptions{Catalog: cat, Pub: failingPublisher{}, Topic: "ecrm.catalog"}))
	cat.Put(catalog.Item{ID: "p1"})
	_ = cat.Import(catalog.Item{ID: "p2"})
	r := doCatalog(t, app, "POST", "/v1/catalog", "text/csv", "id\np1\n", catalogToken)
	if r.status != 503 || !strings.Contains(r.raw, "retry later") {
		t.Errorf("POST with Kafka down = %d %s, want 503", r.status, r.raw)
	}
	if _, ok := cat.Imported("p1"); ok {
		t.Error("an import Kafka did not take is in the catalog")
	}
	if r := doCatalog(t, app, "DELETE", "/v1/catalog/p2", "", "", catalogToken); r.status != 503 {
		t.Errorf("DELETE with Kafka down = %d %s, want 503", r.status, r.raw)
	}
}

func TestCatalogHandler(t *testing.T) {
	cat := new(catalog.Catalog)
	h := CatalogHandler(cat)
	if err := h("p1", []byte(`{"id":"p1","name":"A","price":2,"unavailable":true}`)); err != nil {
		t.Fatal(err)
	}
	if it, _ := cat.Get("p1"); it != (catalog.Item{ID: "p1", Name: "A", Price: 2, Unavailable: true}) {
		t.Errorf("p1 = %+v", it)
	}
	for _, bad := range []string{`{`, `{"id":"other"}`, `{"id":"p1","price":-1}`} {
		if err := h("p1", []byte(bad)); err == nil {
			t.Errorf("record %s applied", bad)
		}
	}
	if err := h("p1", nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Get("p1"); ok {
		t.Error("tombstone did not remove the import")
	}
}
