package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of an imported item's fields, in bytes.
const (
	MaxIDBytes       = 256
	MaxNameBytes     = 1024
	MaxCategoryBytes = 256
	MaxURLBytes      = 2048
	// MaxLineBytes bounds one line of NDJSON.
	MaxLineBytes = 256 << 10
)

// Validate reports why an item cannot be imported, or nil: an id of at most
// MaxIDBytes without control characters, text fields of valid UTF-8 within
// their limits, a finite price of at least 0, http(s) URLs.
func (it Item) Validate() error {
	switch {
	case it.ID == "":
		return errors.New("id is required (id, product_id or sku)")
	case len(it.ID) > MaxIDBytes:
		return fmt.Errorf("id is longer than %d bytes", MaxIDBytes)
	case !utf8.ValidString(it.ID):
		return errors.New("id is not valid UTF-8")
	case strings.ContainsFunc(it.ID, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("id holds a control character")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", it.Name, MaxNameBytes}, {"category", it.Category, MaxCategoryBytes}, {"url", it.URL, MaxURLBytes}, {"image", it.Image, MaxURLBytes}} {
		if len(f.v) > f.max {
			return fmt.Errorf("%s is longer than %d bytes", f.name, f.max)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s is not valid UTF-8", f.name)
		}
	}
	if math.IsNaN(it.Price) || math.IsInf(it.Price, 0) || it.Price < 0 {
		return errors.New("price must be a finite number, 0 or more")
	}
	if err := checkURL("url", it.URL); err != nil {
		return err
	}
	return checkURL("image", it.Image)
}

func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be an absolute http or https URL", field)
	}
	return nil
}

// Format is the shape of an import.
type Format int

// Import formats.
const (
	// CSV has a header row naming the columns: id (or product_id or sku),
	// name, url, image (or image_url), price, category, available; others
	// are ignored.
	CSV Format = iota + 1
	// NDJSON has one JSON object a line with the fields of Segment's
	// product properties (product_id or sku or id, name, url, image_url or
	// image, price, category) and available.
	NDJSON
	// JSON is an array of such objects.
	JSON
)

func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case NDJSON:
		return "ndjson"
	case JSON:
		return "json"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Record is one item of an import, or why its line was rejected.
type Record struct {
	// Line is where the record starts, from 1; in a JSON array, the
	// element's number, from 1.
	Line int
	// Item is valid when Err is nil.
	Item Item
	Err  error
}

// Decoder reads an import one record at a time, holding one record in
// memory at once.
type Decoder struct {
	next func() (Record, error)
	err  error
}

// NewDecoder returns a decoder of r in format f.
func NewDecoder(r io.Reader, f Format) *Decoder {
	br := bufio.NewReaderSize(r, 64<<10)
	skipBOM(br)
	d := &Decoder{}
	switch f {
	case CSV:
		d.next = newCSVDecoder(br).next
	case NDJSON:
		d.next = (&ndjsonDecoder{r: br}).next
	case JSON:
		d.next = newArrayDecoder(br).next
	default:
		d.err = fmt.Errorf("unknown import format %d", f)
	}
	return d
}

// Next returns the next record: an item or a rejected line. At the end it
// returns io.EOF; any other error means the rest cannot be read (no usable
// CSV header, broken JSON array, read error) and is returned again by
// later calls.
func (d *Decoder) Next() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	rec, err := d.next()
	if err != nil {
		d.err = err
		return Record{}, err
	}
	if rec.Err == nil {
		if verr := rec.Item.Validate(); verr != nil {
			rec.Item, rec.Err = Item{}, verr
		}
	}
	return rec, nil
}

func skipBOM(br *bufio.Reader) {
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
}

// ParseAvailable reads an availability: true, false, 1, 0, yes, no (any
// case); empty is true.
func ParseAvailable(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, errors.New("available must be true, false, 1, 0, yes or no")
}

// parsePrice reads a price; empty is 0, none.
func parsePrice(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return 0, fmt.Errorf("price %q is not a number like 19.99", clip(s))
	}
	return p, nil
}

// clip shortens what a message quotes.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// CSV

type csvDecoder struct {
	r      *csv.Reader
	header bool
	fields int
	// Column indexes, -1 when absent; ids in order of preference.
	ids, image                        []int
	name, url, price, category, avail int
}

func newCSVDecoder(r io.Reader) *csvDecoder {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	return &csvDecoder{r: cr}
}

func (d *csvDecoder) readHeader() error {
	head, err := d.r.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("the CSV is empty: it needs a header row naming its columns (id, name, url, image, price, category, available)")
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: the CSV header row is not valid: %w", pe.StartLine, pe.Err)
	}
	if err != nil {
		return err
	}
	d.fields = len(head)
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := col[h]; dup {
			return fmt.Errorf("line 1: column %q appears twice in the CSV header", clip(h))
		}
		col[h] = i
	}
	at := func(name string) int {
		if i, ok := col[name]; ok {
			return i
		}
		return -1
	}
	for _, n := range []string{"product_id", "sku", "id"} {
		if i := at(n); i >= 0 {
			d.ids = append(d.ids, i)
		}
	}
	if len(d.ids) == 0 {
		return errors.New("line 1: the CSV header has no id column: name one id, product_id or sku")
	}
	for _, n := range []string{"image_url", "image"} {
		if i := at(n); i >= 0 {
			d.image = append(d.image, i)
		}
	}
	d.name, d.url, d.price, d.category, d.avail = at("name"), at("url"), at("price"), at("category"), at("available")
	d.header = true
	return nil
}

func (d *csvDecoder) next() (Record, error) {
	if !d.header {
		if err := d.readHeader(); err != nil {
			return Record{}, err
		}
	}
	rec, err := d.r.Read()
	for err != nil && len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		rec, err = d.r.Read() // a line of blanks only
	}
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		return Record{Line: pe.StartLine, Err: fmt.Errorf("%d fields where the header has %d", len(rec), d.fields)}, nil
	case errors.As(err, &pe):
		return Record{Line: pe.StartLine, Err: fmt.Errorf("bad CSV quoting at byte %d of line %d: %v", pe.Column, pe.Line, pe.Err)}, nil
	case err != nil:
		return Record{}, err
	}
	line, _ := d.r.FieldPos(0)
	get := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	first := func(cols []int) string {
		for _, i := range cols {
			if v := get(i); v != "" {
				return v
			}
		}
		return ""
	}
	it := Item{ID: first(d.ids), Name: get(d.name), URL: get(d.url), Image: first(d.image), Category: get(d.category)}
	if it.Price, err = parsePrice(get(d.price)); err != nil {
		return Record{Line: line, Err: err}, nil
	}
	avail, err := ParseAvailable(get(d.avail))
	if err != nil {
		return Record{Line: line, Err: err}, nil
	}
	it.Unavailable = !avail
	return Record{Line: line, Item: it}, nil
}

// NDJSON

type ndjsonDecoder struct {
	r    *bufio.Reader
	line int
	buf  []byte
}

func (d *ndjsonDecoder) next() (Record, error) {
	for {
		raw, tooLong, err := d.readLine()
		if err != nil {
			return Record{}, err
		}
		d.line++
		if tooLong {
			return Record{Line: d.line, Err: fmt.Errorf("line is longer than %d bytes", MaxLineBytes)}, nil
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		it, err := decodeObject(raw)
		return Record{Line: d.line, Item: it, Err: err}, nil
	}
}

// readLine returns the next line without its newline; one longer than
// MaxLineBytes is read to its end and reported as too long.
func (d *ndjsonDecoder) readLine() (line []byte, tooLong bool, err error) {
	d.buf = d.buf[:0]
	for {
		chunk, err := d.r.ReadSlice('\n')
		if !tooLong {
			if len(d.buf)+len(chunk) > MaxLineBytes+1 { // +1: the newline
				tooLong, d.buf = true, d.buf[:0]
			} else {
				d.buf = append(d.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(d.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return d.buf, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return d.buf, tooLong, nil
	}
}

// decodeObject reads one JSON object holding an item.
func decodeObject(raw []byte) (Item, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Item{}, fmt.Errorf("not valid JSON: %s", jsonError(err))
	}
	if dec.InputOffset() != int64(len(raw)) {
		return Item{}, errors.New("more than one JSON value on the line")
	}
	return itemOfJSON(v)
}

func jsonError(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// itemOfJSON reads an item from a decoded JSON object with Segment's
// product fields and available.
func itemOfJSON(v any) (Item, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Item{}, errors.New("not a JSON object")
	}
	var it Item
	var err error
	text := func(key string) string {
		if err != nil {
			return ""
		}
		switch x := m[key].(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(x)
		case json.Number:
			if key == "product_id" || key == "sku" || key == "id" {
				return x.String()
			}
		}
		err = fmt.Errorf("%s must be a string", key)
		return ""
	}
	for _, k := range []string{"product_id", "sku", "id"} {
		if it.ID = text(k); it.ID != "" {
			break
		}
	}
	it.Name, it.URL, it.Category = text("name"), text("url"), text("category")
	if it.Image = text("image_url"); it.Image == "" {
		it.Image = text("image")
	}
	if err != nil {
		return Item{}, err
	}
	switch x := m["price"].(type) {
	case nil:
	case json.Number:
		if it.Price, err = parsePrice(x.String()); err != nil {
			return Item{}, err
		}
	case string:
		if it.Price, err = parsePrice(x); err != nil {
			return Item{}, err
		}
	default:
		return Item{}, errors.New("price must be a number")
	}
	avail := true
	switch x := m["available"].(type) {
	case nil:
	case bool:
		avail = x
	case string:
		avail, err = ParseAvailable(x)
	case json.Number:
		avail, err = ParseAvailable(x.String())
	default:
		err = errors.New("available must be true or false")
	}
	if err != nil {
		return Item{}, err
	}
	it.Unavailable = !avail
	return it, nil
}

// JSON array

type arrayDecoder struct {
	dec     *json.Decoder
	started bool
	n       int
}

func newArrayDecoder(r io.Reader) *arrayDecoder {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &arrayDecoder{dec: dec}
}

func (d *arrayDecoder) next() (Record, error) {
	if !d.started {
		tok, err := d.dec.Token()
		if errors.Is(err, io.EOF) {
			return Record{}, errors.New("the body is empty: send a JSON array of items")
		}
		if err != nil {
			return Record{}, d.broken(err)
		}
		if tok != json.Delim('[') {
			return Record{}, errors.New("a JSON import must be an array of items; send one object a line as NDJSON instead")
		}
		d.started = true
	}
	if !d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return Record{}, d.broken(err)
		}
		if tok != json.Delim(']') {
			return Record{}, fmt.Errorf("broken JSON array after element %d", d.n)
		}
		if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
			return Record{}, errors.New("data after the end of the JSON array")
		}
		return Record{}, io.EOF
	}
	var v any
	if err := d.dec.Decode(&v); err != nil {
		return Record{}, d.broken(err)
	}
	d.n++
	it, err := itemOfJSON(v)
	return Record{Line: d.n, Item: it, Err: err}, nil
}

func (d *arrayDecoder) broken(err error) error {
	return fmt.Errorf("broken JSON array at byte %d (element %d): %s", d.dec.InputOffset(), d.n+1, jsonError(err))
}

// importLine is an item as a line of NDJSON import.
type importLine struct {
	ID        string  `json:"id"`
	Name      string  `json:"name,omitempty"`
	URL       string  `json:"url,omitempty"`
	Image     string  `json:"image,omitempty"`
	Price     float64 `json:"price,omitempty"`
	Category  string  `json:"category,omitempty"`
	Available bool    `json:"available"`
}

// AppendNDJSON appends the item as one line of an NDJSON import, newline
// included: what NewDecoder reads back as the same item.
func AppendNDJSON(dst []byte, it Item) ([]byte, error) {
	b, err := json.Marshal(importLine{ID: it.ID, Name: it.Name, URL: it.URL, Image: it.Image,
		Price: it.Price, Category: it.Category, Available: !it.Unavailable})
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}
