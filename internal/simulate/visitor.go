package simulate

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// visitor is one person of the population: their devices, tastes, account
// and history with the shop.
type visitor struct {
	n       int
	devices []*device
	locale  string
	// prefs holds a cumulative weight per category: what they browse.
	prefs []float64

	// The identity they give when they log in, sign up or order.
	userID, email, name string
	registered          bool // has an account
	subscriber          bool // gets the newsletter

	sessions   int
	orders     int
	lastOrder  time.Time
	lastEnd    time.Time
	returnDays float64 // mean days between visits
	rhythmDays float64 // mean days between orders, once a customer
	propensity float64 // chance that a visit is meant to buy
	tier       float64 // how much they spend: Pareto, 1 and up

	due  time.Time // when they come back
	slot int       // index in the due heap, -1 when not in it
}

// device is one browser of a visitor: its own anonymous id, cookie, login
// and cart, as the tag and the demo shop keep them in localStorage.
type device struct {
	kind   string
	ua     string
	anonID string
	vid    string // the collector's cookie
	userID string // "" when logged out
	cart   []cartLine
	cartID string
}

type cartLine struct {
	p   int // index in the catalog
	qty int
}

// newVisitor draws visitor n from r.
func (g *Generator) newVisitor(n int) *visitor {
	r := g.rng
	v := &visitor{n: n, slot: -1, locale: locales.pick(r)}

	nd := 1
	switch x := r.Float64(); {
	case x < 0.10:
		nd = 3
	case x < 0.35:
		nd = 2
	}
	kinds := []string{deviceKinds.pick(r)}
	for len(kinds) < nd {
		kinds = append(kinds, otherKind(r, kinds))
	}
	for _, k := range kinds {
		v.devices = append(v.devices, g.newDevice(k))
	}

	// Tastes: a log-normal weight per category, one favourite boosted.
	fav := r.IntN(len(g.cat.categories))
	total := 0.0
	for i := range g.cat.categories {
		x := math.Exp(r.NormFloat64() * 1.1)
		if i == fav {
			x *= 4
		}
		total += x
		v.prefs = append(v.prefs, total)
	}

	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	v.name = title(first) + " " + title(last)
	v.email = fmt.Sprintf("%s.%s%d@%s", first, last, n, mailDomains[r.IntN(len(mailDomains))])
	v.userID = "u-" + g.hexID(5)
	v.registered = r.Float64() < 0.15
	// Most account holders get the newsletter; a few others signed up for
	// it in the footer.
	v.subscriber = r.Float64() < 0.05 || v.registered && r.Float64() < 0.6

	v.returnDays = clamp(lognormal(r, 6, 0.9), 0.5, 45)
	v.tier = min(paretoDraw(r, 1.6), 25)
	v.rhythmDays = clamp(lognormal(r, 35, 0.5)/math.Sqrt(v.tier), 4, 120)
	v.propensity = clamp(lognormal(r, 0.035, 0.7)*math.Cbrt(v.tier), 0.003, 0.5)
	return v
}

func (g *Generator) newDevice(kind string) *device {
	d := &device{kind: kind, ua: userAgents[kind].pick(g.rng)}
	g.resetDevice(d)
	d.vid = g.hexID(16)
	return d
}

// resetDevice gives the device a new anonymous id, as the tag's reset()
// does on logout.
func (g *Generator) resetDevice(d *device) {
	d.anonID = newUUID(g.rng)
	d.userID = ""
}

// otherKind draws a device class not yet in have, when there is one.
func otherKind(r *rand.Rand, have []string) string {
	for range 8 {
		k := deviceKinds.pick(r)
		if !contains(have, k) {
			return k
		}
	}
	return deviceKinds.pick(r)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// category draws a category index by the visitor's taste.
func (v *visitor) category(r *rand.Rand) int {
	x := r.Float64() * v.prefs[len(v.prefs)-1]
	for i, c := range v.prefs {
		if x < c {
			return i
		}
	}
	return len(v.prefs) - 1
}

// primary returns the device used most, the first.
func (v *visitor) primary() *device { return v.devices[0] }

// customer reports whether the visitor has ordered.
func (v *visitor) customer() bool { return v.orders > 0 }

// newUUID returns a version 4 UUID drawn from r.
func newUUID(r *rand.Rand) string {
	var b [16]byte
	x, y := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// hexID returns n random bytes in hex.
func (g *Generator) hexID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return hex.EncodeToString(b)
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lognormal draws from a log-normal distribution with the given median and
// shape sigma.
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// paretoDraw draws from a Pareto distribution with minimum 1 and shape alpha.
func paretoDraw(r *rand.Rand, alpha float64) float64 {
	return math.Pow(1-r.Float64(), -1/alpha)
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// dueHeap orders the visitors who are not in a session by when they come
// back, earliest first.
type dueHeap []*visitor

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	return h[i].due.Before(h[j].due) || h[i].due.Equal(h[j].due) && h[i].n < h[j].n
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = i, j
}
func (h *dueHeap) Push(x any) {
	v := x.(*visitor)
	v.slot = len(*h)
	*h = append(*h, v)
}
func (h *dueHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	v.slot = -1
	return v
}
