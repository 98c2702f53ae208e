package main

import (
	"encoding/hex"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// world is the synthetic shop both processes derive from the same flags:
// the items and their popularity, the categories, and each visitor's ids.
// The benchmark's process builds the state from it; the load generator's
// names the same visitors and items without sharing memory. It is
// read-only once built, so safe for concurrent use.
type world struct {
	seed     uint64
	profiles int
	items    int
	// active is how many visitors the requests come from (all when 0).
	active int
	// now is the reference time: the latest hit of the state is just
	// before it.
	now time.Time

	// pop draws an item rank by popularity: rank 0 is the most viewed.
	pop powerLaw
	// itemCat is the category (an index in categories) of each rank.
	itemCat []uint16
	// byCat holds each category's ranks, most popular first, and catPop
	// draws a position in it by popularity.
	byCat  [][]int32
	catPop []powerLaw
}

// categories of the shop, as the learner keeps them: lower case.
var categories = []string{
	"running-shoes", "trail-shoes", "walking-shoes", "sandals", "socks",
	"jackets", "rain-jackets", "fleeces", "t-shirts", "shirts", "shorts",
	"tights", "trousers", "base-layers", "caps", "gloves", "backpacks",
	"hydration", "headlamps", "watches", "sunglasses", "poles", "tents",
	"sleeping-bags", "stoves", "nutrition", "insoles", "laces", "bags",
	"kids-shoes", "kids-apparel", "swim", "bikes", "helmets", "yoga",
	"fitness", "recovery", "books", "gift-cards", "outlet",
}

// Popularity of items (and of the items of a category): rank k weighs
// 1/(k+popularityOffset), so that with 100,000 items the top 1% take about
// half the views, as in shops' logs.
const popularityOffset = 5

func newWorld(seed uint64, profiles, items int, now time.Time) *world {
	w := &world{seed: seed, profiles: profiles, items: items, now: now, pop: newPowerLaw(items)}
	w.itemCat = make([]uint16, items)
	w.byCat = make([][]int32, len(categories))
	for k := range items {
		c := uint16(mix(seed^0x5ca1ab1e, uint64(k)) % uint64(len(categories)))
		w.itemCat[k] = c
		w.byCat[c] = append(w.byCat[c], int32(k))
	}
	w.catPop = make([]powerLaw, len(categories))
	for c, ranks := range w.byCat {
		w.catPop[c] = newPowerLaw(len(ranks))
	}
	return w
}

// itemFrom draws an item of category c by popularity, or any item when
// the category has none.
func (w *world) itemFrom(r *rand.Rand, c int) int {
	if len(w.byCat[c]) == 0 {
		return w.pop.sample(r)
	}
	return int(w.byCat[c][w.catPop[c].sample(r)])
}

// category returns the name of item rank k's category.
func (w *world) category(k int) string { return categories[w.itemCat[k]] }

// visitor draws a visitor the requests come from: uniformly among all, or
// among the active ones, spread over all.
func (w *world) visitor(r *rand.Rand) int {
	if w.active <= 0 || w.active >= w.profiles {
		return r.IntN(w.profiles)
	}
	return w.activeVisitor(r.IntN(w.active))
}

// activeVisitor returns the jth of the visitors the requests come from:
// visitor j when every one is active, else one spread over all.
func (w *world) activeVisitor(j int) int {
	if w.active <= 0 || w.active >= w.profiles {
		return j
	}
	return int(mix(w.seed^0xac71fe, uint64(j)) % uint64(w.profiles))
}

// anonID returns visitor i's anonymous id, a UUID as the tag makes them.
func (w *world) anonID(i int) string { return uuid(w.seed, uint64(i)) }

// otherDeviceID returns the anonymous id of visitor i's second device.
func (w *world) otherDeviceID(i int) string { return uuid(w.seed^0xd0d0cafe, uint64(i)) }

// identified reports whether visitor i logged in: about a quarter did.
func (w *world) identified(i int) bool { return mix(w.seed^0x1d, uint64(i))%100 < 25 }

// userID returns visitor i's user id, for an identified visitor.
func userID(i int) string { return "cust-" + pad(i, 8) }

// itemID returns the id of the item of popularity rank k.
func itemID(k int) string { return "sku-" + pad(k, 7) }

// itemPrice returns the price of item rank k: 5 to 300, two decimals.
func itemPrice(seed uint64, k int) float64 {
	return float64(500+mix(seed^0x9e1ce, uint64(k))%29500) / 100
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// uuid returns a version 4 UUID drawn from (seed, n).
func uuid(seed, n uint64) string {
	var b [16]byte
	x, y := mix(seed, n), mix(seed+1, n)
	for i := range 8 {
		b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// mix returns a well-mixed 64-bit value of (seed, n): splitmix64's
// finaliser.
func mix(seed, n uint64) uint64 {
	x := seed + n*0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// powerLaw draws 0..n-1, k with weight 1/(k+popularityOffset). It is
// read-only, so safe for concurrent use with a rand.Rand per goroutine.
type powerLaw struct {
	cdf []float64 // cumulative weights, normalised to end at 1
}

func newPowerLaw(n int) powerLaw {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range n {
		sum += 1 / float64(k+popularityOffset)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return powerLaw{cdf: cdf}
}

func (p powerLaw) sample(r *rand.Rand) int {
	u := r.Float64()
	return min(sort.SearchFloat64s(p.cdf, u), len(p.cdf)-1)
}
