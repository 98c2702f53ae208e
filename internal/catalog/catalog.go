// Package catalog holds what is known of the shop's items — name, url,
// image, price, category, availability — learned from product events and
// imports, so that recommendations carry them.
package catalog

import (
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ecrm/ecrm/internal/event"
)

// Item is one product of the catalog.
type Item struct {
	ID       string  `json:"id"`
	Name     string  `json:"name,omitempty"`
	URL      string  `json:"url,omitempty"`
	Image    string  `json:"image,omitempty"`
	Price    float64 `json:"price,omitempty"`
	Category string  `json:"category,omitempty"`
	// Unavailable marks an item out of stock or withdrawn: never
	// recommended.
	Unavailable bool `json:"unavailable,omitempty"`
}

// MaxItems bounds the catalog: items past it are neither learned nor
// imported.
const MaxItems = 2_000_000

// ErrFull is returned by Import when the catalog holds MaxItems items.
var ErrFull = errors.New("catalog: full")

// Catalog is safe for concurrent use. The zero value is empty and ready.
//
// An item is learned from product events (Put, Learn), imported (Import),
// or both: an import is authoritative (its name, price, availability, ...
// win) and what was learned fills only the fields it leaves empty. Removing
// an import (Unimport) leaves what was learned.
type Catalog struct {
	mu    sync.RWMutex
	items map[string]entry
	// unavailable holds the ids of the unavailable items (id → struct{}),
	// kept in step with items under mu. They are few, so the availability
	// check a recommendation makes of each candidate reads a small set,
	// not the catalog, and without a lock: a sync.Map's reads write
	// nothing shared, where each read lock of mu would move its cache
	// line between the cores serving requests. nUnavailable is its size:
	// with none, the check reads nothing at all.
	unavailable  sync.Map
	nUnavailable atomic.Int64
	// maybeOut has the bit of the hash of every id ever added to
	// unavailable set (a Bloom filter of one hash, 8 KiB, in cache): an
	// id whose bit is clear is available without reading the set. Bits
	// are never cleared, so a bit left by an item available again costs
	// only the read of the set.
	maybeOut [outWords]atomic.Uint64
}

// outWords is the size of Catalog.maybeOut in 64-bit words.
const outWords = 1024

// outSeed seeds the hash of Catalog.maybeOut.
var outSeed = maphash.MakeSeed()

// outBit returns the word and bit of id in Catalog.maybeOut.
func outBit(id string) (int, uint64) {
	h := maphash.String(outSeed, id)
	return int(h>>6) % outWords, 1 << (h & 63)
}

// set stores e under id, keeping unavailable in step. c.mu is held.
func (c *Catalog) set(id string, e entry) {
	if c.items == nil {
		c.items = map[string]entry{}
	}
	c.items[id] = e
	c.setUnavailable(id, e.Unavailable)
}

// setUnavailable adds id to the unavailable set or removes it. c.mu is
// held.
func (c *Catalog) setUnavailable(id string, out bool) {
	if out {
		w, b := outBit(id)
		c.maybeOut[w].Or(b) // before the set: a reader seeing the bit clear may skip it
		if _, had := c.unavailable.Swap(id, struct{}{}); !had {
			c.nUnavailable.Add(1)
		}
	} else if _, had := c.unavailable.LoadAndDelete(id); had {
		c.nUnavailable.Add(-1)
	}
}

// entry is one item: what Get answers, its JSON members (Item.AppendFields,
// made once per change, for the answers that carry it), and for an
// imported item the parts it was merged from. An override and the fields
// are never changed once stored, so readers holding one need no lock.
type entry struct {
	Item
	fields []byte
	ext    *override // nil for an item only learned
}

func newEntry(it Item, ext *override) entry {
	return entry{Item: it, fields: it.AppendFields(nil), ext: ext}
}

// AppendFields appends the item's JSON object members, without the
// braces: "id" and the fields that are set, in the order and form
// encoding/json writes them.
func (it *Item) AppendFields(dst []byte) []byte {
	w := event.NewJSONWriter(dst)
	w.Raw(`"id":`)
	w.String(it.ID)
	for _, f := range [...]struct{ name, v string }{{`,"name":`, it.Name}, {`,"url":`, it.URL}, {`,"image":`, it.Image}} {
		if f.v != "" {
			w.Raw(f.name)
			w.String(f.v)
		}
	}
	if it.Price != 0 && !math.IsInf(it.Price, 0) && !math.IsNaN(it.Price) {
		w.Raw(`,"price":`)
		w.Float(it.Price)
	}
	if it.Category != "" {
		w.Raw(`,"category":`)
		w.String(it.Category)
	}
	if it.Unavailable {
		w.Raw(`,"unavailable":true`)
	}
	b, _ := w.Bytes() // nothing fails: a non-finite price is left out
	return b
}

// AppendFields appends the JSON members of the item with the given id
// (Item.AppendFields) and reports whether the catalog knows it; for an
// unknown item it appends only its "id".
func (c *Catalog) AppendFields(dst []byte, id string) ([]byte, bool) {
	c.mu.RLock()
	e, ok := c.items[id]
	c.mu.RUnlock()
	if !ok {
		it := Item{ID: id}
		return it.AppendFields(dst), false
	}
	return append(dst, e.fields...), true
}

type override struct {
	imported Item
	learned  Item // what product events said; ID empty when nothing
}

// Get returns the item with the given id: the import over what was learned.
func (c *Catalog) Get(id string) (Item, bool) {
	c.mu.RLock()
	e, ok := c.items[id]
	c.mu.RUnlock()
	return e.Item, ok
}

// Available reports whether an item may be recommended: unknown items are.
// It takes no lock.
func (c *Catalog) Available(id string) bool {
	if c.nUnavailable.Load() == 0 {
		return true
	}
	if w, b := outBit(id); c.maybeOut[w].Load()&b == 0 {
		return true
	}
	_, out := c.unavailable.Load(id)
	return !out
}

// FieldsOf appends to out, for each of ids, the JSON members of the item
// (as AppendFields writes them; they never change once returned), or nil
// for an item the catalog does not know. One read lock covers every
// lookup, and the lookups run back to back, so that their cache misses
// overlap: an answer's items are scattered over the catalog.
func (c *Catalog) FieldsOf(out [][]byte, ids []string) [][]byte {
	start := len(out)
	c.mu.RLock()
	for _, id := range ids {
		e, ok := c.items[id]
		if !ok {
			e.fields = nil
		}
		out = append(out, e.fields)
	}
	c.mu.RUnlock()
	return out[:start+len(ids)]
}

// Imported returns the item as imported, without what was learned, and
// whether it was imported.
func (c *Catalog) Imported(id string) (Item, bool) {
	c.mu.RLock()
	e := c.items[id]
	c.mu.RUnlock()
	if e.ext == nil {
		return Item{}, false
	}
	return e.ext.imported, true
}

// Len returns the number of items.
func (c *Catalog) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Put learns an item; empty fields keep what was learned before. When the
// item was imported, the import still wins.
func (c *Catalog) Put(it Item) {
	if it.ID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]entry{}
	}
	e, ok := c.items[it.ID]
	if !ok && len(c.items) >= MaxItems {
		return
	}
	if e.ext == nil {
		if learned := fill(it, e.Item); !ok || learned != e.Item {
			c.set(it.ID, newEntry(learned, nil))
		}
		return
	}
	if learned := fill(it, e.ext.learned); learned != e.ext.learned {
		ext := &override{imported: e.ext.imported, learned: learned}
		c.set(it.ID, newEntry(merge(ext.imported, ext.learned), ext))
	}
}

// Import stores an imported item, replacing any earlier import of it. The
// item must be valid (see Validate).
func (c *Catalog) Import(it Item) error {
	if it.ID == "" {
		return errors.New("catalog: import of an item without id")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]entry{}
	}
	e, ok := c.items[it.ID]
	if !ok && len(c.items) >= MaxItems {
		return ErrFull
	}
	learned := e.Item
	if e.ext != nil {
		learned = e.ext.learned
	}
	ext := &override{imported: it, learned: learned}
	c.set(it.ID, newEntry(merge(it, learned), ext))
	return nil
}

// Unimport removes the import of an item and reports whether there was
// one. What product events taught stays: the item is then as learned, or
// gone when nothing was.
func (c *Catalog) Unimport(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok || e.ext == nil {
		return false
	}
	if e.ext.learned.ID == "" {
		delete(c.items, id)
		c.setUnavailable(id, false)
	} else {
		c.set(id, newEntry(e.ext.learned, nil))
	}
	return true
}

// fill returns learned with its empty fields taken from old, what was
// learned before.
func fill(it, old Item) Item {
	if it.Name == "" {
		it.Name = old.Name
	}
	if it.URL == "" {
		it.URL = old.URL
	}
	if it.Image == "" {
		it.Image = old.Image
	}
	if it.Price == 0 {
		it.Price = old.Price
	}
	if it.Category == "" {
		it.Category = old.Category
	}
	return it
}

// merge returns the import with the fields it leaves empty taken from what
// was learned. Availability is the import's alone.
func merge(imported, learned Item) Item {
	unavailable := imported.Unavailable
	it := fill(imported, learned)
	it.Unavailable = unavailable
	return it
}

// Learn takes the items a product event describes: the product of Product
// Viewed/Added/Removed/Clicked, the products[] of Order Completed, Cart
// Viewed, Checkout Started and Product List Viewed.
func (c *Catalog) Learn(e *event.Event) {
	if e.Type != event.TypeTrack {
		return
	}
	if it, ok := ItemOf(e.Properties); ok {
		c.Put(it)
	}
	if list, ok := e.Properties["products"].([]any); ok {
		for _, p := range list {
			if m, ok := p.(map[string]any); ok {
				if it, ok := ItemOf(m); ok {
					c.Put(it)
				}
			}
		}
	}
}

// ItemOf reads an item from Segment-spec product properties (product_id or
// sku or id, name, url, image_url or image, price, category).
func ItemOf(p map[string]any) (Item, bool) {
	id := str(p["product_id"])
	if id == "" {
		id = str(p["sku"])
	}
	if id == "" {
		id = str(p["id"])
	}
	if id == "" || len(id) > 256 {
		return Item{}, false
	}
	it := Item{ID: id, Name: str(p["name"]), URL: str(p["url"]), Image: str(p["image_url"]), Category: str(p["category"])}
	if it.Image == "" {
		it.Image = str(p["image"])
	}
	switch v := p["price"].(type) {
	case float64:
		it.Price = v
	case string:
		it.Price, _ = strconv.ParseFloat(v, 64)
	}
	if math.IsInf(it.Price, 0) || math.IsNaN(it.Price) { // "Infinity", "NaN": no price
		it.Price = 0
	}
	return it, true
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 2048 {
			return x[:2048]
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// WriteTo writes the learned items as JSON: imports are not part of it
// (they are kept on the catalog topic and come back from there).
func (c *Catalog) WriteTo(w io.Writer) (int64, error) {
	c.mu.RLock()
	items := make(map[string]Item, len(c.items))
	for id, e := range c.items {
		switch {
		case e.ext == nil:
			items[id] = e.Item
		case e.ext.learned.ID != "":
			items[id] = e.ext.learned
		}
	}
	c.mu.RUnlock()
	cw := &countWriter{w: w}
	err := json.NewEncoder(cw).Encode(items)
	return cw.n, err
}

// ReadFrom replaces the learned items with those WriteTo wrote; imports
// stay, merged over what it read.
func (c *Catalog) ReadFrom(r io.Reader) (int64, error) {
	var learned map[string]Item
	if err := json.NewDecoder(r).Decode(&learned); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	items := make(map[string]entry, max(len(learned), len(c.items)))
	for id, e := range c.items {
		if e.ext != nil {
			l, ok := learned[id]
			if ok {
				l.ID = id
			}
			ext := &override{imported: e.ext.imported, learned: l}
			items[id] = newEntry(merge(ext.imported, ext.learned), ext)
		}
	}
	for id, it := range learned {
		if _, ok := items[id]; ok || id == "" {
			continue
		}
		if len(items) >= MaxItems {
			break
		}
		it.ID = id
		items[id] = newEntry(it, nil)
	}
	c.items = items
	// The set changes item by item: readers take no lock.
	c.unavailable.Range(func(k, _ any) bool {
		if id := k.(string); !items[id].Unavailable {
			c.setUnavailable(id, false)
		}
		return true
	})
	for id, e := range items {
		if e.Unavailable {
			c.setUnavailable(id, true)
		}
	}
	return 0, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
