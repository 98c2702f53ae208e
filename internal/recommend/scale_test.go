package recommend

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Serving scale of BenchmarkRecommendScale, as bench/personalize builds
// its model for 1M profiles: 100k items in 40 categories, half a million
// sessions over two weeks.
const (
	scaleItems      = 100_000
	scaleCategories = 40
	scaleSessions   = 500_000
	scaleVisitors   = 1_000_000
	scaleContext    = 10 // personalize's maxContext
)

// scaleWorld draws items by a power law (rank k weighs 1/(k+5), so that
// the top 1% take about half the views) and categories by a hash of the
// rank, as bench/personalize's world does.
type scaleWorld struct {
	ids    []string
	cats   []string
	itemC  []int
	pop    []float64 // cumulative, normalised
	byCat  [][]int
	catPop [][]float64
}

func cumPowerLaw(n int) []float64 {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range n {
		sum += 1 / float64(k+5)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return cdf
}

func drawFrom(r *rand.Rand, cdf []float64) int {
	return min(sort.SearchFloat64s(cdf, r.Float64()), len(cdf)-1)
}

func newScaleWorld() *scaleWorld {
	w := &scaleWorld{pop: cumPowerLaw(scaleItems), byCat: make([][]int, scaleCategories)}
	for k := range scaleItems {
		c := int((uint64(k)*0x9e3779b97f4a7c15)>>40) % scaleCategories
		w.ids = append(w.ids, "sku-"+strconv.Itoa(k))
		w.itemC = append(w.itemC, c)
		w.byCat[c] = append(w.byCat[c], k)
	}
	for c := range scaleCategories {
		w.cats = append(w.cats, "cat-"+strconv.Itoa(c))
		w.catPop = append(w.catPop, cumPowerLaw(len(w.byCat[c])))
	}
	return w
}

func (w *scaleWorld) item(r *rand.Rand) int { return drawFrom(r, w.pop) }

func (w *scaleWorld) itemOf(r *rand.Rand, c int) int { return w.byCat[c][drawFrom(r, w.catPop[c])] }

// buildScale returns a model that observed scaleSessions synthetic sessions
// in time order: a visitor browses 1 to 30 items (about 6 on average),
// three in four of a theme category, and some cart one and buy it.
func buildScale(cfg Config) (*Model, *scaleWorld) {
	w := newScaleWorld()
	r := rand.New(rand.NewPCG(7, 11))
	type step struct {
		at            int64
		visitor, sess int32
		item          int32
		kind          Kind
	}
	var steps []step
	start := t0.UnixNano()
	window := int64(14 * 24 * time.Hour)
	for s := range scaleSessions {
		v := int32(r.IntN(scaleVisitors))
		at := start + r.Int64N(window)
		theme := w.itemC[w.item(r)]
		n := min(1+int(r.ExpFloat64()*5), 30)
		carted := -1
		for range n {
			k := w.item(r)
			if r.IntN(4) != 0 {
				k = w.itemOf(r, theme)
			}
			steps = append(steps, step{at, v, int32(s), int32(k), View})
			at += int64(15+r.IntN(120)) * int64(time.Second)
			if carted < 0 && r.IntN(100) < 4 {
				carted = k
				steps = append(steps, step{at, v, int32(s), int32(k), Cart})
				at += int64(10+r.IntN(60)) * int64(time.Second)
			}
		}
		if carted >= 0 && r.IntN(100) < 30 {
			steps = append(steps, step{at, v, int32(s), int32(carted), Order})
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.at, b.at) })
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	for _, st := range steps {
		err := m.Observe(Interaction{
			Visitor: "v" + strconv.Itoa(int(st.visitor)), Session: "s" + strconv.Itoa(int(st.sess)),
			Item: w.ids[st.item], Kind: st.kind, Time: time.Unix(0, st.at), Category: w.cats[w.itemC[st.item]],
		})
		if err != nil {
			panic(err)
		}
	}
	m.Refresh()
	return m, w
}

var scale struct {
	once sync.Once
	m    *Model
	w    *scaleWorld
}

// scaleModel builds the serving-scale model once per process.
func scaleModel() (*Model, *scaleWorld) {
	scale.once.Do(func() { scale.m, scale.w = buildScale(Config{}) })
	return scale.m, scale.w
}

// scaleRequests returns n requests of type t, drawn as personalize makes
// them: a personal request has the visitor's 10 latest distinct items as
// its context (seven in ten from one to three favourite categories, the
// others by popularity), the latest being the item on screen; a similar
// request asks for an item drawn by popularity. About one item in a
// hundred is unavailable.
func scaleRequests(w *scaleWorld, t Type, n int) []Request {
	r := rand.New(rand.NewPCG(3, uint64(len(t))))
	unavailable := make(map[string]bool)
	for k := 0; k < scaleItems; k += 100 {
		unavailable[w.ids[(k*7919)%scaleItems]] = true
	}
	avail := func(id string) bool { return !unavailable[id] }
	reqs := make([]Request, n)
	for q := range reqs {
		req := Request{Type: t, N: DefaultN, Available: avail}
		if t == "similar-uncached" {
			req.Type = Similar
		}
		switch t {
		case Personal:
			favs := make([]int, 1+r.IntN(3))
			for f := range favs {
				favs[f] = w.itemC[w.item(r)]
			}
			for len(req.Context) < scaleContext {
				k := w.item(r)
				if r.IntN(10) < 7 {
					k = w.itemOf(r, favs[r.IntN(len(favs))])
				}
				if !slices.Contains(req.Context, w.ids[k]) {
					req.Context = append(req.Context, w.ids[k])
				}
			}
			req.Item = req.Context[len(req.Context)-1]
		default:
			req.Item = w.ids[w.item(r)]
		}
		reqs[q] = req
	}
	return reqs
}

// BenchmarkRecommendScale measures one request on a model of serving scale
// (see scaleModel), for personal and for similar, each on a rotation of
// 4096 requests; similar-uncached computes the similar items every time,
// as on a cache miss. Building the model takes a while; it is built once.
func BenchmarkRecommendScale(b *testing.B) {
	m, w := scaleModel()
	for _, t := range []Type{Personal, Similar, "similar-uncached"} {
		reqs := scaleRequests(w, t, 4096)
		m.st.simCacheOff = t == "similar-uncached"
		b.Run(string(t), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if got := m.Recommend(reqs[i%len(reqs)]); len(got) == 0 {
					b.Fatal("no recommendation")
				}
			}
		})
	}
	m.st.simCacheOff = false
}
