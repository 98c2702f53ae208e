package demo

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestFSHasThePages(t *testing.T) {
	for _, name := range []string{"index.html", "product.html", "cart.html", "checkout.html", "order.html", "login.html", "app.js", "style.css", "products.json"} {
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(b) == 0 {
			t.Fatalf("%s is empty", name)
		}
	}
}

func TestPagesLoadTheTagWithTheDemoKey(t *testing.T) {
	pages, err := fs.Glob(FS(), "*.html")
	if err != nil || len(pages) < 6 {
		t.Fatalf("pages: %v %v", pages, err)
	}
	external := regexp.MustCompile(`(?:src|href)="(?:https?:)?//`)
	for _, p := range pages {
		b, _ := fs.ReadFile(FS(), p)
		s := string(b)
		if !strings.Contains(s, `(window,document,"/ecrm.js")`) || !strings.Contains(s, `ecrm.load("demo"`) {
			t.Errorf("%s does not load /ecrm.js with the write key demo", p)
		}
		if external.MatchString(s) {
			t.Errorf("%s refers to an external URL", p)
		}
	}
}

func TestCatalog(t *testing.T) {
	b, err := fs.ReadFile(FS(), "products.json")
	if err != nil {
		t.Fatal(err)
	}
	var products []struct {
		ID, SKU, Name, Category, Currency, Description, Image string
		Price                                                 float64
	}
	if err := json.Unmarshal(b, &products); err != nil {
		t.Fatal(err)
	}
	if len(products) < 40 {
		t.Fatalf("%d products, want about 40", len(products))
	}
	ids := map[string]bool{}
	cats := map[string]int{}
	for _, p := range products {
		if p.ID == "" || p.Name == "" || p.Category == "" || p.Price <= 0 || p.Currency != "EUR" {
			t.Errorf("incomplete product %+v", p)
		}
		if ids[p.ID] {
			t.Errorf("duplicate id %s", p.ID)
		}
		ids[p.ID] = true
		cats[p.Category]++
		if !strings.HasPrefix(p.Image, "data:image/svg+xml,") {
			t.Errorf("%s: image is not an inline SVG", p.ID)
		}
	}
	if len(cats) < 4 {
		t.Errorf("categories %v, want several", cats)
	}
}
