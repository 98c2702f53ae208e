package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ecrm/ecrm/bench/internal/meter"
	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/recommend"
	"github.com/ecrm/ecrm/internal/store"
)

// state is what personalize answers from, beside the store.
type state struct {
	model     *recommend.Model
	catalog   *catalog.Catalog
	campaigns *campaign.Registry
}

// buildState fills db with the profiles and identities of w while the
// recommender observes cfg.Sessions sessions (Observe takes one lock: one
// core, the fill takes the others), then makes the catalog and the
// campaigns. It prints what each step took, and the live heap, to out.
func buildState(ctx context.Context, w *world, cfg config, db *store.DB, out io.Writer) (*state, error) {
	m := meter.Start()
	type trained struct {
		model *recommend.Model
		took  time.Duration
		err   error
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan trained, 1)
	go func() {
		t := time.Now()
		model, err := trainModel(tctx, w, cfg.Sessions)
		done <- trained{model, time.Since(t), err}
	}()
	// On an early return, stop the training and wait for it.
	pending := true
	defer func() {
		cancel()
		if pending {
			<-done
		}
	}()

	t := time.Now()
	f, err := fillStore(ctx, db, w)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "build profiles: profiles=%d identities=%d json_mean_bytes=%d json_max_bytes=%d json_total_mib=%.0f seconds=%.1f\n",
		f.profiles, f.identities, f.jsonBytes/int64(max(f.profiles, 1)), f.maxJSON, mib(f.jsonBytes), time.Since(t).Seconds())

	tr := <-done
	pending = false
	if tr.err != nil {
		return nil, fmt.Errorf("train the recommender: %w", tr.err)
	}
	ms := tr.model.Stats()
	fmt.Fprintf(out, "build recommender: items=%d sessions=%d observed=%d seconds=%.1f (beside the profiles)\n",
		ms.Items, ms.Sessions, ms.Observed, tr.took.Seconds())
	heapModel := heapAlloc()

	t = time.Now()
	st := &state{model: tr.model, catalog: fillCatalog(w)}
	if st.campaigns, err = campaigns(w.now); err != nil {
		return nil, err
	}
	heap, u := heapAlloc(), m.Stop(0)
	other, _ := u.OtherCores()
	fmt.Fprintf(out, "build catalog: items=%d campaigns=%d seconds=%.1f\n", st.catalog.Len(), len(st.campaigns.List()), time.Since(t).Seconds())
	fmt.Fprintf(out, "build state: heap_alloc_mib=%.0f (recommender and the rest %.0f, catalog %.0f) cores=%.2f other_processes_cores=%.2f\n",
		mib(int64(heap)), mib(int64(heapModel)), mib(int64(heap)-int64(heapModel)), u.Cores(), other)
	return st, nil
}
