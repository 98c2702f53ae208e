// Package catalog holds what is known of the shop's items — name, url,
// image, price, category, availability — learned from product events and
// imports, so that recommendations carry them.
package catalog

import (
	"encoding/json"
	"io"
	"maps"
	"strconv"
	"sync"

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

// MaxItems bounds the catalog: items past it are not learned.
const MaxItems = 2_000_000

// Catalog is safe for concurrent use. The zero value is empty and ready.
type Catalog struct {
	mu    sync.RWMutex
	items map[string]Item
}

// Get returns the item with the given id.
func (c *Catalog) Get(id string) (Item, bool) {
	c.mu.RLock()
	it, ok := c.items[id]
	c.mu.RUnlock()
	return it, ok
}

// Available reports whether an item may be recommended: unknown items are.
func (c *Catalog) Available(id string) bool {
	c.mu.RLock()
	it, ok := c.items[id]
	c.mu.RUnlock()
	return !ok || !it.Unavailable
}

// Len returns the number of items.
func (c *Catalog) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Put adds or replaces an item; empty fields of a learned item keep what
// was known.
func (c *Catalog) Put(it Item) {
	if it.ID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]Item{}
	}
	old, ok := c.items[it.ID]
	if !ok && len(c.items) >= MaxItems {
		return
	}
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
	c.items[it.ID] = it
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

// WriteTo writes the catalog as JSON.
func (c *Catalog) WriteTo(w io.Writer) (int64, error) {
	c.mu.RLock()
	items := maps.Clone(c.items)
	c.mu.RUnlock()
	cw := &countWriter{w: w}
	err := json.NewEncoder(cw).Encode(items)
	return cw.n, err
}

// ReadFrom replaces the catalog with one WriteTo wrote.
func (c *Catalog) ReadFrom(r io.Reader) (int64, error) {
	var items map[string]Item
	if err := json.NewDecoder(r).Decode(&items); err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.items = items
	c.mu.Unlock()
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
