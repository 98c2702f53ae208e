package recommend

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// TestConcurrent runs one writer against readers of every type and a
// snapshot writer; run it with -race.
func TestConcurrent(t *testing.T) {
	m, _ := New(Config{RefreshEvery: time.Second})
	const events = 3000
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range events {
			kind := []Kind{View, View, View, Cart, Order}[i%5]
			in := Interaction{
				Visitor: fmt.Sprint("v", i/7), Item: fmt.Sprint("i", (i*31)%97), Kind: kind,
				Time: t0.Add(time.Duration(i) * time.Second), Category: fmt.Sprint("c", i%3),
			}
			if err := m.Observe(in); err != nil {
				t.Error(err)
				return
			}
		}
	})
	types := []Type{Similar, Together, Personal, Popular, Trending}
	for r := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				req := Request{
					Type: types[(n+r)%len(types)], Item: fmt.Sprint("i", n%97),
					Context: []string{fmt.Sprint("i", (n+3)%97), fmt.Sprint("i", n%97)},
					Visitor: fmt.Sprint("v", n%400), N: 5,
				}
				if n%4 == 0 {
					req.Category = "c1"
				}
				got := m.Recommend(req)
				if len(got) > 5 {
					t.Errorf("Recommend(%+v) returned %d items", req, len(got))
				}
				for _, s := range got {
					if s.Item == req.Item || !(s.Score > 0) {
						t.Errorf("Recommend(%+v) = %v: the current item or a non-positive score", req, got)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			if _, err := m.WriteTo(io.Discard); err != nil {
				t.Error(err)
			}
			_ = m.Stats()
		}
	})
	wg.Wait()
	if got := m.Stats().Observed; got != events {
		t.Errorf("observed %d events, want %d", got, events)
	}
}
