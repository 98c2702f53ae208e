package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// decodeAll reads every record of an import; fatal is the error that
// stopped it, if any.
func decodeAll(t testing.TB, in string, f Format) (items []Record, rejected []Record, fatal error) {
	t.Helper()
	d := NewDecoder(strings.NewReader(in), f)
	for {
		rec, err := d.Next()
		if errors.Is(err, io.EOF) {
			return items, rejected, nil
		}
		if err != nil {
			if _, again := d.Next(); again == nil || again.Error() != err.Error() {
				t.Fatalf("Next after %v = %v, want the same error", err, again)
			}
			return items, rejected, err
		}
		if rec.Err != nil {
			rejected = append(rejected, rec)
		} else {
			items = append(items, rec)
		}
	}
}

func lines(recs []Record) []int {
	var out []int
	for _, r := range recs {
		out = append(out, r.Line)
	}
	return out
}

func TestCSV(t *testing.T) {
	in := "\ufeffSKU, Name ,price,category,url,image_url,available,brand\n" +
		"p1,Trail Shoe,89.90,shoes,https://shop.example/p1,https://cdn.example/p1.jpg,true,acme\n" +
		"p2,\"Rain Jacket, blue\",120,jackets,,,no,acme\n" +
		"\n" +
		"p3,\"Multi\nline\",,,,,,\n" +
		",No id,1,x,,,,\n" +
		"p5,Bad price,abc,x,,,,\n" +
		"p6,Too few\n" +
		"p7,Bad \"quote,1,x,,,,\n" +
		"p8,Bad avail,1,x,,,maybe,\n" +
		"p9,Neg,-1,x,,,,\n" +
		"p10,Bad url,1,x,ftp://shop.example/p10,,,\n" +
		"p11,Inf,Inf,x,,,,\n" +
		"p12,Last,0.5,x,,,0,\n"
	items, rejected, fatal := decodeAll(t, in, CSV)
	if fatal != nil {
		t.Fatal(fatal)
	}
	want := []Item{
		{ID: "p1", Name: "Trail Shoe", Price: 89.90, Category: "shoes", URL: "https://shop.example/p1", Image: "https://cdn.example/p1.jpg"},
		{ID: "p2", Name: "Rain Jacket, blue", Price: 120, Category: "jackets", Unavailable: true},
		{ID: "p3", Name: "Multi\nline"},
		{ID: "p12", Name: "Last", Price: 0.5, Category: "x", Unavailable: true},
	}
	if len(items) != len(want) {
		t.Fatalf("items = %+v, want %+v", items, want)
	}
	for i, w := range want {
		if items[i].Item != w {
			t.Errorf("item %d = %+v, want %+v", i, items[i].Item, w)
		}
	}
	if got := lines(items); !equal(got, []int{2, 3, 5, 15}) {
		t.Errorf("item lines = %v, want [2 3 5 15]", got)
	}
	wantRejected := map[int]string{
		7:  "id is required (id, product_id or sku)",
		8:  `price "abc" is not a number like 19.99`,
		9:  "2 fields where the header has 8",
		10: `bad CSV quoting at byte 8 of line 10: bare " in non-quoted-field`,
		11: "available must be true, false, 1, 0, yes or no",
		12: "price must be a finite number, 0 or more",
		13: "url must be an absolute http or https URL",
		14: `price "Inf" is not a number like 19.99`,
	}
	if got := lines(rejected); !equal(got, []int{7, 8, 9, 10, 11, 12, 13, 14}) {
		t.Errorf("rejected lines = %v, want 7..14", got)
	}
	for _, r := range rejected {
		if r.Err.Error() != wantRejected[r.Line] {
			t.Errorf("line %d rejected with %q, want %q", r.Line, r.Err, wantRejected[r.Line])
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCSVHeader(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "the CSV is empty"},
		{"blank", "\n\n", "the CSV is empty"},
		{"no id column", "name,price\nShoe,1\n", "line 1: the CSV header has no id column: name one id, product_id or sku"},
		{"twice", "id,name,Name\n", `line 1: column "name" appears twice in the CSV header`},
		{"bad quoting", "id,\"name\n", "line 1: the CSV header row is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, fatal := decodeAll(t, tc.in, CSV)
			if fatal == nil || !strings.Contains(fatal.Error(), tc.want) {
				t.Errorf("error = %v, want %q", fatal, tc.want)
			}
		})
	}
	// A header alone is an import of nothing, not an error.
	items, rejected, fatal := decodeAll(t, "id,name\r\n", CSV)
	if fatal != nil || len(items)+len(rejected) != 0 {
		t.Errorf("header only: %v %v %v", items, rejected, fatal)
	}
	// The id columns in Segment's order of preference; image_url before image.
	items, _, _ = decodeAll(t, "id,sku,product_id,image,image_url\na,b,,https://x.example/i,https://x.example/u\na,,,https://x.example/i,\n", CSV)
	if len(items) != 2 || items[0].Item.ID != "b" || items[0].Item.Image != "https://x.example/u" || items[1].Item.ID != "a" || items[1].Item.Image != "https://x.example/i" {
		t.Errorf("items = %+v", items)
	}
}

func TestNDJSON(t *testing.T) {
	long := `{"id":"long","name":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	in := `{"product_id":"p1","name":"Trail Shoe","price":89.9,"category":"shoes","image_url":"https://cdn.example/p1.jpg","url":"http://shop.example/p1","brand":"acme"}` + "\n" +
		`{"sku":12345678901234567890,"price":"12.50","available":"no"}` + "\r\n" +
		"\n" +
		`{"id":"p3","available":false}` + "\n" +
		`{"id":"p4","price":-3}` + "\n" +
		`{"id":"p5",` + "\n" +
		`[1,2]` + "\n" +
		`{"id":"p7"} {"id":"p8"}` + "\n" +
		`{"id":"p9","name":7}` + "\n" +
		`{"id":"p10","available":"perhaps"}` + "\n" +
		`{"id":"p11","price":1e400}` + "\n" +
		long + "\n" +
		`{"id":"` + strings.Repeat("i", MaxIDBytes+1) + `"}` + "\n" +
		`{"id":"p14","price":true}` + "\n" +
		`{"id":"p15","available":1}`
	items, rejected, fatal := decodeAll(t, in, NDJSON)
	if fatal != nil {
		t.Fatal(fatal)
	}
	want := []Item{
		{ID: "p1", Name: "Trail Shoe", Price: 89.9, Category: "shoes", Image: "https://cdn.example/p1.jpg", URL: "http://shop.example/p1"},
		{ID: "12345678901234567890", Price: 12.5, Unavailable: true},
		{ID: "p3", Unavailable: true},
		{ID: "p15"},
	}
	if len(items) != len(want) {
		t.Fatalf("items = %+v, want %+v", items, want)
	}
	for i, w := range want {
		if items[i].Item != w {
			t.Errorf("item %d = %+v, want %+v", i, items[i].Item, w)
		}
	}
	if got := lines(items); !equal(got, []int{1, 2, 4, 15}) {
		t.Errorf("item lines = %v", got)
	}
	wantRejected := map[int]string{
		5:  "price must be a finite number, 0 or more",
		6:  "not valid JSON: unexpected end of JSON",
		7:  "not a JSON object",
		8:  "more than one JSON value on the line",
		9:  "name must be a string",
		10: "available must be true, false, 1, 0, yes or no",
		11: `price "1e400" is not a number like 19.99`,
		12: "line is longer than 262144 bytes",
		13: "id is longer than 256 bytes",
		14: "price must be a number",
	}
	if got := lines(rejected); !equal(got, []int{5, 6, 7, 8, 9, 10, 11, 12, 13, 14}) {
		t.Errorf("rejected lines = %v", got)
	}
	for _, r := range rejected {
		if r.Err.Error() != wantRejected[r.Line] {
			t.Errorf("line %d rejected with %q, want %q", r.Line, r.Err, wantRejected[r.Line])
		}
	}
}

func TestJSONArray(t *testing.T) {
	items, rejected, fatal := decodeAll(t, ` [ {"id":"a","price":2}, 3, {"id":""}, {"sku":"b","available":"yes"} ] `, JSON)
	if fatal != nil {
		t.Fatal(fatal)
	}
	if len(items) != 2 || items[0].Item != (Item{ID: "a", Price: 2}) || items[1].Item != (Item{ID: "b"}) || !equal(lines(items), []int{1, 4}) {
		t.Errorf("items = %+v", items)
	}
	if !equal(lines(rejected), []int{2, 3}) || rejected[0].Err.Error() != "not a JSON object" {
		t.Errorf("rejected = %+v", rejected)
	}
	for _, tc := range []struct{ in, want string }{
		{``, "the body is empty"},
		{`{"id":"a"}`, "a JSON import must be an array"},
		{`[{"id":"a"},`, "broken JSON array at byte"},
		{`[{"id":"a"} {"id":"b"}]`, "broken JSON array"},
		{`[{"id":"a"}] x`, "data after the end of the JSON array"},
		{`[{"id":"a"}][]`, "data after the end of the JSON array"},
	} {
		_, _, fatal := decodeAll(t, tc.in, JSON)
		if fatal == nil || !strings.Contains(fatal.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.in, fatal, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Item{ID: "sku-1", Name: "Shoe", URL: "https://shop.example/p", Image: "http://cdn.example/i.png", Price: 1, Category: "shoes"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Item)
		want string
	}{
		{"no id", func(it *Item) { it.ID = "" }, "id is required"},
		{"long id", func(it *Item) { it.ID = strings.Repeat("x", 257) }, "id is longer than 256 bytes"},
		{"control", func(it *Item) { it.ID = "a\nb" }, "id holds a control character"},
		{"utf8", func(it *Item) { it.Name = "\xff" }, "name is not valid UTF-8"},
		{"long name", func(it *Item) { it.Name = strings.Repeat("x", MaxNameBytes+1) }, "name is longer than 1024 bytes"},
		{"long category", func(it *Item) { it.Category = strings.Repeat("x", MaxCategoryBytes+1) }, "category is longer"},
		{"long url", func(it *Item) { it.URL = "https://x.example/" + strings.Repeat("x", MaxURLBytes) }, "url is longer"},
		{"nan", func(it *Item) { it.Price = math.NaN() }, "price must be a finite number"},
		{"negative", func(it *Item) { it.Price = -0.01 }, "price must be a finite number"},
		{"relative url", func(it *Item) { it.URL = "/p/1" }, "url must be an absolute http or https URL"},
		{"javascript", func(it *Item) { it.Image = "javascript:alert(1)" }, "image must be an absolute http or https URL"},
	} {
		it := ok
		tc.edit(&it)
		if err := it.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAppendNDJSONRoundTrip(t *testing.T) {
	in := []Item{
		{ID: "p1", Name: `Shoe "pro" <b>`, URL: "https://shop.example/p?a=1&b=2", Image: "https://cdn.example/i.png", Price: 19.99, Category: "shoes"},
		{ID: "p2", Unavailable: true},
	}
	var buf []byte
	for _, it := range in {
		var err error
		if buf, err = AppendNDJSON(buf, it); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Count(buf, []byte("\n")) != 2 || !json.Valid(bytes.Split(buf, []byte("\n"))[0]) {
		t.Fatalf("NDJSON = %s", buf)
	}
	items, rejected, fatal := decodeAll(t, string(buf), NDJSON)
	if fatal != nil || len(rejected) != 0 || len(items) != 2 || items[0].Item != in[0] || items[1].Item != in[1] {
		t.Errorf("read back %+v %+v %v, want %+v", items, rejected, fatal, in)
	}
}

// FuzzDecode feeds arbitrary bytes to every format: the decoder never
// panics, every item it accepts is valid, and lines only go forward.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("id,name,price,available\np1,Shoe,1.5,yes\n\"p2\",\"a\"\"b\",,0\n"), uint8(CSV))
	f.Add([]byte("sku,url\np,https://x.example/\np2,\"bad\"x\n"), uint8(CSV))
	f.Add([]byte(`{"id":"p1","price":2,"available":false}`+"\n"+`{"sku":1}`), uint8(NDJSON))
	f.Add([]byte(`[{"product_id":"p1","image_url":"https://x.example/i"},{"id":2},null]`), uint8(JSON))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		fm := Format(format%3 + 1)
		d := NewDecoder(bytes.NewReader(data), fm)
		last := 0
		for n := 0; ; n++ {
			rec, err := d.Next()
			if err != nil {
				return
			}
			if n > len(data)+1 {
				t.Fatalf("more records (%d) than bytes (%d)", n, len(data))
			}
			if rec.Line < 1 || rec.Line < last {
				t.Fatalf("%v record at line %d after line %d", fm, rec.Line, last)
			}
			last = rec.Line
			if rec.Err != nil {
				if rec.Item != (Item{}) {
					t.Fatalf("rejected record carries an item: %+v", rec)
				}
				continue
			}
			if err := rec.Item.Validate(); err != nil {
				t.Fatalf("accepted item %+v is not valid: %v", rec.Item, err)
			}
			// What the CLI sends reads back the same.
			line, err := AppendNDJSON(nil, rec.Item)
			if err != nil {
				t.Fatal(err)
			}
			back, err := NewDecoder(bytes.NewReader(line), NDJSON).Next()
			if err != nil || back.Err != nil || back.Item != rec.Item {
				t.Fatalf("item %+v reads back as %+v (%v, %v)", rec.Item, back.Item, err, back.Err)
			}
		}
	})
}
