package main

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/recommend"
)

// trainWindow is the event time the synthetic sessions span, ending at
// the world's now.
const trainWindow = 14 * day

// step is one synthetic interaction, compact until it is observed.
type step struct {
	at      int64 // Unix nanoseconds
	visitor int32
	session int32
	item    int32
	kind    recommend.Kind
}

// trainModel returns a recommend.Model with the default settings, as `ecrm
// run` makes it, that observed the given number of synthetic sessions, in
// time order, through Observe, the learner's call. A session is one visitor
// (a profile's owning identifier) browsing a few items, mostly of one
// category and by popularity; some put one in the cart and some of those
// buy it.
func trainModel(ctx context.Context, w *world, sessions int) (*recommend.Model, error) {
	r := rand.New(rand.NewPCG(w.seed, 0x5e55))
	steps := make([]step, 0, sessions*6)
	start := w.now.Add(-trainWindow).UnixNano()
	for s := range sessions {
		visitor := int32(r.IntN(w.profiles))
		at := start + r.Int64N(int64(trainWindow-time.Hour))
		theme := int(w.itemCat[w.pop.sample(r)])
		n := min(1+int(r.ExpFloat64()*5), 30)
		var carted int32 = -1
		for range n {
			k := w.pop.sample(r)
			if r.IntN(4) != 0 {
				k = w.itemFrom(r, theme)
			}
			steps = append(steps, step{at: at, visitor: visitor, session: int32(s), item: int32(k), kind: recommend.View})
			at += int64(15+r.IntN(120)) * int64(time.Second)
			if carted < 0 && r.IntN(100) < 4 {
				carted = int32(k)
				steps = append(steps, step{at: at, visitor: visitor, session: int32(s), item: carted, kind: recommend.Cart})
				at += int64(10+r.IntN(60)) * int64(time.Second)
			}
		}
		if carted >= 0 && r.IntN(100) < 30 {
			steps = append(steps, step{at: at, visitor: visitor, session: int32(s), item: carted, kind: recommend.Order})
		}
	}
	slices.SortFunc(steps, func(a, b step) int { return cmp.Compare(a.at, b.at) })

	m, err := recommend.New(recommend.Config{})
	if err != nil {
		return nil, err
	}
	for n, st := range steps {
		if n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		err := m.Observe(recommend.Interaction{
			Visitor:  w.profileKey(int(st.visitor)),
			Session:  "s" + strconv.Itoa(int(st.session)),
			Item:     itemID(int(st.item)),
			Kind:     st.kind,
			Time:     time.Unix(0, st.at),
			Category: w.category(int(st.item)),
		})
		if err != nil {
			return nil, err
		}
	}
	m.Refresh()
	return m, nil
}

// Words of the items' names.
var adjectives = []string{"Light", "Pro", "Classic", "Ultra", "Trail", "City", "Storm", "Summit", "Breeze", "Tempo", "Peak", "Flow"}

// fillCatalog returns the catalog of the world's items, as the learner
// learns it from product events: name, url, image, price, category; about
// one in a hundred is out of stock.
func fillCatalog(w *world) *catalog.Catalog {
	c := new(catalog.Catalog)
	for k := range w.items {
		id := itemID(k)
		c.Put(catalog.Item{
			ID:          id,
			Name:        w.itemName(k),
			URL:         "https://shop.example/p/" + id,
			Image:       "https://cdn.shop.example/img/" + id + ".jpg",
			Price:       itemPrice(w.seed, k),
			Category:    w.category(k),
			Unavailable: mix(w.seed^0x0a7, uint64(k))%100 == 0,
		})
	}
	return c
}

// itemName returns the name of item rank k: "Storm Rain Jackets 417".
func (w *world) itemName(k int) string {
	words := strings.Split(w.category(k), "-")
	for i, wd := range words {
		words[i] = strings.ToUpper(wd[:1]) + wd[1:]
	}
	return adjectives[mix(w.seed^0xad7, uint64(k))%uint64(len(adjectives))] + " " + strings.Join(words, " ") + " " + strconv.Itoa(k%1000)
}
