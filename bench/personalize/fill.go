package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/store"
	"github.com/ecrm/ecrm/internal/view"
)

// fillChunk is how many profiles go in one store batch (about 4 MB).
const fillChunk = 2048

// filled is what fillStore wrote.
type filled struct {
	profiles   int
	identities int
	jsonBytes  int64 // of the profiles
	maxJSON    int
}

// fillStore writes every visitor's profile snapshot under "p/<profile id>",
// as the view stores it (view.AppendStored: without the profiler's
// bookkeeping), with its brief under "b/<profile id>" (view.AppendBrief), and each of
// their identifiers under "i/<identifier>" → profile id: the layout view's
// tailer writes from the profiles and identities topics.
// Keys go in ascending order, so that Pebble's flushes do not overlap and
// compactions only move files, and the profiles are made and encoded by
// one goroutine per core while one commits.
func fillStore(ctx context.Context, db *store.DB, w *world) (filled, error) {
	var out filled
	workers := runtime.GOMAXPROCS(0)

	// Profile ids, in parallel: each is a SHA-256.
	pids := make([]string, w.profiles)
	parallel(workers, w.profiles, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			pids[i] = identity.ProfileID(w.profileKey(i))
		}
	})

	n, err := writeIdentities(ctx, db, w, pids)
	if err != nil {
		return out, err
	}
	out.identities = n

	// Profiles, in profile id order: chunks made by the workers, committed
	// in order by this goroutine, at most 2 per worker ahead.
	order := make([]int32, w.profiles)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(pids[a], pids[b]) })
	type result struct {
		b       *store.Batch
		bytes   int64
		maxJSON int
		err     error
	}
	nChunks := (w.profiles + fillChunk - 1) / fillChunk
	results := make([]chan result, nChunks)
	for c := range results {
		results[c] = make(chan result, 1)
	}
	ahead := make(chan struct{}, 2*workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); wg.Wait() }()
	for range workers {
		wg.Go(func() {
			pcg := rand.NewPCG(0, 0)
			r := rand.New(pcg)
			for {
				select {
				case ahead <- struct{}{}:
				case <-stop:
					return
				}
				c := int(next.Add(1) - 1)
				if c >= nChunks {
					return
				}
				res := result{b: db.NewBatch()}
				var brief, stored []byte
				for _, i := range order[c*fillChunk : min((c+1)*fillChunk, w.profiles)] {
					p := w.profile(int(i), pcg, r)
					raw, err := json.Marshal(p)
					if err != nil {
						res.err = fmt.Errorf("encode profile %d: %w", i, err)
						break
					}
					stored = view.AppendStored(stored[:0], raw)
					res.b.Set([]byte("p/"+pids[i]), stored)
					brief = view.AppendBrief(brief[:0], p)
					res.b.Set([]byte("b/"+pids[i]), brief)
					res.bytes += int64(len(raw))
					res.maxJSON = max(res.maxJSON, len(raw))
				}
				results[c] <- res
			}
		})
	}
	for c := range nChunks {
		var res result
		select {
		case res = <-results[c]:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		<-ahead
		if res.err != nil {
			return out, res.err
		}
		if err := res.b.CommitNoSync(); err != nil {
			return out, fmt.Errorf("write profiles: %w", err)
		}
		out.jsonBytes += res.bytes
		out.maxJSON = max(out.maxJSON, res.maxJSON)
	}
	out.profiles = w.profiles
	if err := view.MarkBriefs(db); err != nil {
		return out, fmt.Errorf("write profiles: %w", err)
	}
	return out, nil
}

// writeIdentities writes every visitor's identifiers, sorted, and returns
// how many.
func writeIdentities(ctx context.Context, db *store.DB, w *world, pids []string) (int, error) {
	type link struct {
		id string
		i  int32
	}
	links := make([]link, 0, w.profiles*3/2)
	var ids []string
	for i := range w.profiles {
		ids = w.identifiers(ids[:0], i)
		for _, id := range ids {
			links = append(links, link{id, int32(i)})
		}
	}
	slices.SortFunc(links, func(a, b link) int { return cmp.Compare(a.id, b.id) })
	const per = 16 * fillChunk // small records
	for lo := 0; lo < len(links); lo += per {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b := db.NewBatch()
		for _, l := range links[lo:min(lo+per, len(links))] {
			b.Set([]byte("i/"+l.id), []byte(pids[l.i]))
		}
		if err := b.CommitNoSync(); err != nil {
			return 0, fmt.Errorf("write identities: %w", err)
		}
	}
	return len(links), nil
}

// parallel calls fn over [0, n) cut in one range per worker, and waits.
func parallel(workers, n int, fn func(lo, hi int)) {
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		wg.Go(func() { fn(lo, min(lo+per, n)) })
	}
	wg.Wait()
}
