package recommend

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// yoochooseTrain is the yoochoose-100k training set of the shared
// next-item benchmarks, relative to this package.
const yoochooseTrain = "../../../shared/data/recsys/yoochoose-100k/train.csv"

// mustLoadCSV trains a model on an eval CSV file, in time order, and
// returns the sessions of the file (items in order). It skips tb when the
// file is absent.
func mustLoadCSV(tb testing.TB, path string) (*Model, [][]string) {
	tb.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("%s is absent", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	type row struct {
		t                  time.Time
		visitor, sess, itm string
	}
	var rows []row
	var sessions [][]string
	for i, r := range recs[1:] {
		ts, err := strconv.ParseFloat(r[0], 64)
		if err != nil {
			tb.Fatalf("%s line %d: %v", path, i+2, err)
		}
		rows = append(rows, row{time.UnixMilli(int64(ts * 1000)), r[1], r[2], r[3]})
		if i == 0 || r[2] != recs[i][2] {
			sessions = append(sessions, nil)
		}
		sessions[len(sessions)-1] = append(sessions[len(sessions)-1], r[3])
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.t.Compare(b.t) })
	m, _ := New(Config{})
	for _, r := range rows {
		if err := m.Observe(Interaction{Visitor: r.visitor, Session: r.sess, Item: r.itm, Kind: View, Time: r.t}); err != nil {
			tb.Fatal(err)
		}
	}
	m.Refresh()
	return m, sessions
}

// BenchmarkRecommendPersonal asks for 20 next items after prefixes of the
// training sessions of yoochoose-100k, on a model trained with all of them.
func BenchmarkRecommendPersonal(b *testing.B) {
	m, sessions := mustLoadCSV(b, yoochooseTrain)
	var reqs []Request
	for _, s := range sessions {
		for i := 1; i < len(s) && len(reqs) < 10000; i++ {
			reqs = append(reqs, Request{Type: Personal, Item: s[i-1], Context: s[:i], N: 20})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if got := m.Recommend(reqs[i%len(reqs)]); len(got) == 0 {
			b.Fatal("no recommendation")
		}
	}
}

// BenchmarkObserve feeds a stream of views, carts and orders on 10,000
// items of skewed popularity, in sessions of about 5 events.
func BenchmarkObserve(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.1, 10, 9999)
	const n = 1 << 16
	ins := make([]Interaction, n)
	for i := range ins {
		kind := View
		if x := r.IntN(20); x == 0 {
			kind = Order
		} else if x < 3 {
			kind = Cart
		}
		ins[i] = Interaction{
			Visitor: strconv.Itoa(i / 5), Item: fmt.Sprint("item", zipf.Uint64()), Kind: kind,
			Category: strconv.Itoa(i % 50),
		}
	}
	m, _ := New(Config{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		in := ins[i%n]
		in.Time = t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if err := m.Observe(in); err != nil {
			b.Fatal(err)
		}
	}
}
