package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/ecrm/ecrm/internal/event"
)

func TestImportOverLearned(t *testing.T) {
	var c Catalog
	c.Learn(&event.Event{Type: event.TypeTrack, Event: "Product Viewed", Properties: map[string]any{
		"product_id": "p1", "name": "Learned name", "price": 10.0, "category": "shoes", "image_url": "https://cdn.example/learned.jpg"}})
	if err := c.Import(Item{ID: "p1", Name: "Imported name", Price: 12.5, Unavailable: true}); err != nil {
		t.Fatal(err)
	}
	want := Item{ID: "p1", Name: "Imported name", Price: 12.5, Category: "shoes", Image: "https://cdn.example/learned.jpg", Unavailable: true}
	if it, ok := c.Get("p1"); !ok || it != want {
		t.Fatalf("Get = %+v, want the import over what was learned %+v", it, want)
	}
	if c.Available("p1") {
		t.Error("an item imported unavailable is available")
	}
	// Later product events fill what the import leaves empty, never more.
	c.Put(Item{ID: "p1", Name: "Newer learned", Price: 11, URL: "https://shop.example/p1"})
	want.URL = "https://shop.example/p1"
	if it, _ := c.Get("p1"); it != want {
		t.Errorf("after learning more, Get = %+v, want %+v", it, want)
	}
	if imp, ok := c.Imported("p1"); !ok || imp.Name != "Imported name" || imp.Category != "" {
		t.Errorf("Imported = %+v, %v", imp, ok)
	}
	// A new import replaces the old one, the learned data stays under it.
	if err := c.Import(Item{ID: "p1", Name: "Second import"}); err != nil {
		t.Fatal(err)
	}
	if it, _ := c.Get("p1"); it.Name != "Second import" || it.Price != 11 || it.Unavailable {
		t.Errorf("after a second import, Get = %+v", it)
	}
	// Removing the import leaves what product events taught.
	if !c.Unimport("p1") {
		t.Fatal("Unimport of an imported item = false")
	}
	if it, ok := c.Get("p1"); !ok || it != (Item{ID: "p1", Name: "Newer learned", Price: 11, Category: "shoes", URL: "https://shop.example/p1", Image: "https://cdn.example/learned.jpg"}) {
		t.Errorf("after Unimport, Get = %+v, %v, want the learned item", it, ok)
	}
	if c.Unimport("p1") {
		t.Error("Unimport of an item only learned = true")
	}
	// An item only imported goes away with its import.
	if err := c.Import(Item{ID: "p2", Name: "Only imported"}); err != nil {
		t.Fatal(err)
	}
	if it, ok := c.Get("p2"); !ok || it.Name != "Only imported" || c.Len() != 2 {
		t.Errorf("Get(p2) = %+v, %v, Len %d", it, ok, c.Len())
	}
	c.Unimport("p2")
	if _, ok := c.Get("p2"); ok || c.Len() != 1 || !c.Available("p2") {
		t.Errorf("p2 still there after Unimport")
	}
}

func TestSnapshotKeepsLearnedOnly(t *testing.T) {
	var c Catalog
	c.Put(Item{ID: "learned", Name: "L", Price: 3})
	c.Put(Item{ID: "both", Name: "learned name", Category: "cat"})
	_ = c.Import(Item{ID: "both", Name: "imported name", Price: 9})
	_ = c.Import(Item{ID: "imported", Name: "I", Unavailable: true})
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "imported") {
		t.Fatalf("snapshot holds imported data: %s", buf.String())
	}

	// Restored into a catalog that already follows the topic's imports.
	var d Catalog
	_ = d.Import(Item{ID: "both", Name: "imported name", Price: 9})
	_ = d.Import(Item{ID: "imported", Name: "I", Unavailable: true})
	d.Put(Item{ID: "gone", Name: "replaced by the snapshot"})
	if _, err := d.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]Item{
		"learned":  {ID: "learned", Name: "L", Price: 3},
		"both":     {ID: "both", Name: "imported name", Price: 9, Category: "cat"},
		"imported": {ID: "imported", Name: "I", Unavailable: true},
	} {
		if it, ok := d.Get(id); !ok || it != want {
			t.Errorf("after ReadFrom, Get(%s) = %+v, %v, want %+v", id, it, ok, want)
		}
	}
	if _, ok := d.Get("gone"); ok || d.Len() != 3 {
		t.Errorf("ReadFrom kept a learned item the snapshot lacks; Len %d", d.Len())
	}
	d.Unimport("both")
	if it, _ := d.Get("both"); it != (Item{ID: "both", Name: "learned name", Category: "cat"}) {
		t.Errorf("after Unimport, Get(both) = %+v, want what the snapshot learned", it)
	}
}

func TestGetAllocatesNothing(t *testing.T) {
	var c Catalog
	for i := range 1000 {
		c.Put(Item{ID: fmt.Sprint("p", i), Name: "x"})
		if i%2 == 0 {
			_ = c.Import(Item{ID: fmt.Sprint("p", i), Name: "y", Unavailable: i%4 == 0})
		}
	}
	ids, fields := []string{"p1", "p2", "unknown"}, make([][]byte, 0, 3)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = c.Get("p10")
		_ = c.Available("p12")
		_ = c.Available("unknown")
		fields = c.FieldsOf(fields[:0], ids)
	})
	if allocs != 0 {
		t.Errorf("Get, Available and FieldsOf allocate %v times a call", allocs)
	}
}

func TestConcurrentUse(t *testing.T) {
	var c Catalog
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprint("p", i%50)
				switch (i + w) % 4 {
				case 0:
					c.Put(Item{ID: id, Name: "learned"})
				case 1:
					_ = c.Import(Item{ID: id, Name: "imported"})
				case 2:
					c.Unimport(id)
				default:
					_, _ = c.Get(id)
					_ = c.Available(id)
					_ = c.FieldsOf(nil, []string{id, "p1"})
					var buf bytes.Buffer
					_, _ = c.WriteTo(&buf)
				}
			}
		})
	}
	wg.Wait()
	for i := range 50 {
		id := fmt.Sprint("p", i)
		it, ok := c.Get(id)
		imp, imported := c.Imported(id)
		if ok && imported && it.Name != imp.Name {
			t.Errorf("%s: Get %+v does not carry its import %+v", id, it, imp)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	var c Catalog
	for i := range 100_000 {
		c.Put(Item{ID: fmt.Sprint("p", i), Name: "x", Price: 1})
	}
	_ = c.Import(Item{ID: "p5", Name: "y"})
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.Get("p5")
		_ = c.Available("p77")
	}
}

// TestAppendFieldsFollowsChanges: the members the catalog keeps encoded
// are those of the item as Get answers it, after learning, importing and
// unimporting; a non-finite price is never kept nor written.
func TestAppendFieldsFollowsChanges(t *testing.T) {
	c := new(Catalog)
	check := func(id string) {
		t.Helper()
		it, known := c.Get(id)
		if !known {
			it = Item{ID: id}
		}
		want, _ := json.Marshal(it)
		got, ok := c.AppendFields([]byte("{"), id)
		if ok != known || string(got)+"}" != string(want) {
			t.Errorf("AppendFields(%q) = %s, %v; want %s, %v", id, got, ok, want, known)
		}
		fields := c.FieldsOf([][]byte{[]byte("kept")}, []string{"unknown", id})
		if len(fields) != 3 || string(fields[0]) != "kept" || fields[1] != nil {
			t.Fatalf("FieldsOf(unknown, %q) = %q; want the earlier entry kept, then nil", id, fields)
		}
		if f := fields[2]; known != (f != nil) || known && "{"+string(f)+"}" != string(want) {
			t.Errorf("FieldsOf(%q) = %s; want %s (known %v)", id, f, want, known)
		}
	}
	check("a")
	c.Put(Item{ID: "a", Name: "Shoe", Price: 10})
	check("a")
	c.Put(Item{ID: "a", Category: "shoes"})
	check("a")
	if err := c.Import(Item{ID: "a", Name: "Trail shoe", Unavailable: true}); err != nil {
		t.Fatal(err)
	}
	check("a")
	c.Put(Item{ID: "a", URL: "https://shop.example/a"})
	check("a")
	c.Unimport("a")
	check("a")
	for _, price := range []string{"Infinity", "-Inf", "NaN", "1e999"} {
		it, ok := ItemOf(map[string]any{"product_id": "b", "price": price})
		if !ok || it.Price != 0 {
			t.Errorf("ItemOf(price %q) = %+v, %v; want no price", price, it, ok)
		}
	}
	inf := Item{ID: "c", Price: math.Inf(1)}
	if got := string(inf.AppendFields(nil)); got != `"id":"c"` {
		t.Errorf("AppendFields of an infinite price = %s, want the price left out", got)
	}
}

// TestAvailableFollowsChanges: an item is unavailable exactly while the
// item Get answers says so, through imports, learning, unimports and a
// snapshot read back.
func TestAvailableFollowsChanges(t *testing.T) {
	c := new(Catalog)
	check := func(id string, want bool) {
		t.Helper()
		it, _ := c.Get(id)
		if got := c.Available(id); got != want || got == it.Unavailable {
			t.Errorf("Available(%q) = %v, want %v (Get says unavailable=%v)", id, got, want, it.Unavailable)
		}
	}
	check("a", true)
	c.Put(Item{ID: "a", Name: "Shoe"})
	check("a", true)
	if err := c.Import(Item{ID: "a", Unavailable: true}); err != nil {
		t.Fatal(err)
	}
	check("a", false)
	c.Put(Item{ID: "a", Price: 3})
	check("a", false)
	var snap bytes.Buffer
	if _, err := c.WriteTo(&snap); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadFrom(&snap); err != nil {
		t.Fatal(err)
	}
	check("a", false)
	if err := c.Import(Item{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	check("a", true)
	if err := c.Import(Item{ID: "b", Unavailable: true}); err != nil {
		t.Fatal(err)
	}
	check("b", false)
	c.Unimport("b")
	check("b", true)
}

// TestAvailableExactAtScale: with thousands of unavailable items, whose
// bits in the filter of Available cover many other ids, Available answers
// exactly for every item and for ids the catalog never saw, also after
// items become available again.
func TestAvailableExactAtScale(t *testing.T) {
	c := new(Catalog)
	const n = 20_000
	for i := range n {
		if err := c.Import(Item{ID: fmt.Sprint("p", i), Unavailable: i%3 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if i%6 == 0 { // back in stock
			if err := c.Import(Item{ID: fmt.Sprint("p", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range n {
		want := i%3 != 0 || i%6 == 0
		if got := c.Available(fmt.Sprint("p", i)); got != want {
			t.Fatalf("Available(p%d) = %v, want %v", i, got, want)
		}
	}
	for i := range 100_000 {
		if id := fmt.Sprint("unknown-", i); !c.Available(id) {
			t.Fatalf("Available(%s) = false for an item the catalog never saw", id)
		}
	}
}
