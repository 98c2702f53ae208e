package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/ecrm/ecrm/internal/demo"
)

// ErrCatalog is returned (wrapped) when a catalog cannot be used: not the
// JSON array of products it should be, empty, or with a product lacking an
// id, a name, a category or a positive price.
var ErrCatalog = errors.New("simulate: invalid catalog")

// Product is one item of the shop's catalog, in the shape of the demo
// shop's products.json.
type Product struct {
	ID          string  `json:"id"`
	SKU         string  `json:"sku,omitempty"`
	Name        string  `json:"name"`
	Category    string  `json:"category"`
	Price       float64 `json:"price"`
	Currency    string  `json:"currency,omitempty"`
	Description string  `json:"description,omitempty"`
	Image       string  `json:"image,omitempty"`
}

// ParseCatalog decodes a JSON array of products and checks that every one
// has an id, a name, a category and a positive price. A product without a
// currency is given EUR.
func ParseCatalog(data []byte) ([]Product, error) {
	var ps []Product
	if err := json.Unmarshal(data, &ps); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCatalog, err)
	}
	return checkCatalog(ps)
}

// checkCatalog checks the products, giving EUR to those without a
// currency, and returns them.
func checkCatalog(ps []Product) ([]Product, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("%w: no products", ErrCatalog)
	}
	seen := make(map[string]bool, len(ps))
	for i := range ps {
		p := &ps[i]
		switch {
		case p.ID == "":
			return nil, fmt.Errorf("%w: product %d has no id", ErrCatalog, i)
		case seen[p.ID]:
			return nil, fmt.Errorf("%w: product id %q appears twice", ErrCatalog, p.ID)
		case p.Name == "" || p.Category == "":
			return nil, fmt.Errorf("%w: product %q needs a name and a category", ErrCatalog, p.ID)
		case !(p.Price > 0) || p.Price > 1e9:
			return nil, fmt.Errorf("%w: product %q needs a positive price", ErrCatalog, p.ID)
		}
		seen[p.ID] = true
		if p.Currency == "" {
			p.Currency = "EUR"
		}
	}
	return ps, nil
}

// DemoCatalog returns the demo shop's catalog, its products.json.
func DemoCatalog() ([]Product, error) {
	data, err := fs.ReadFile(demo.FS(), "products.json")
	if err != nil {
		return nil, fmt.Errorf("read demo catalog: %w", err)
	}
	return ParseCatalog(data)
}

// catalog indexes the products by category, in the order categories first
// appear, so that drawing from it is deterministic.
type catalog struct {
	products   []Product
	categories []string
	byCategory [][]int // indexes into products, per category
	popularity [][]float64
	text       []string // per product: name, category and description, lower case
	currency   string
}

func newCatalog(ps []Product) *catalog {
	c := &catalog{products: ps, currency: ps[0].Currency}
	index := map[string]int{}
	for i, p := range ps {
		k, ok := index[p.Category]
		if !ok {
			k = len(c.categories)
			index[p.Category] = k
			c.categories = append(c.categories, p.Category)
			c.byCategory = append(c.byCategory, nil)
		}
		c.byCategory[k] = append(c.byCategory[k], i)
		c.text = append(c.text, strings.ToLower(p.Name+" "+p.Category+" "+p.Description))
	}
	return c
}

// rank gives the products of each category a popularity that falls with
// their rank, drawn at random (a Zipf law): some are bestsellers.
func (c *catalog) rank(r *rand.Rand) {
	c.popularity = make([][]float64, len(c.byCategory))
	for k, ids := range c.byCategory {
		order := r.Perm(len(ids))
		cum := make([]float64, len(ids))
		total := 0.0
		for i := range ids {
			total += 1 / math.Pow(float64(order[i]+1), 0.9)
			cum[i] = total
		}
		c.popularity[k] = cum
	}
}

// pick draws a product of category k by popularity.
func (c *catalog) pick(k int, r *rand.Rand) int {
	cum := c.popularity[k]
	x := r.Float64() * cum[len(cum)-1]
	for i, w := range cum {
		if x < w {
			return c.byCategory[k][i]
		}
	}
	return c.byCategory[k][len(cum)-1]
}

// categoryOf returns the index of product i's category.
func (c *catalog) categoryOf(i int) int {
	for k, name := range c.categories {
		if name == c.products[i].Category {
			return k
		}
	}
	return 0
}

// search returns the products whose name, category or description holds
// q, as the demo shop's search does.
func (c *catalog) search(q string) []int {
	q = strings.ToLower(q)
	var out []int
	for i, t := range c.text {
		if strings.Contains(t, q) {
			out = append(out, i)
		}
	}
	return out
}
