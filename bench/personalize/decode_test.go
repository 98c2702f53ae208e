package main

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/view"
)

// BenchmarkDecideParts measures, per bench profile, what a decision does
// with the stored snapshot: decode it as the view does, then fill the
// variables segments read.
func BenchmarkDecideParts(b *testing.B) {
	w := newWorld(1, 10_000, 10_000, time.Now())
	pcg := rand.NewPCG(1, 2)
	r := rand.New(pcg)
	var snaps [][]byte
	for i := range 1000 {
		p := w.profile(i, pcg, r)
		raw, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		snaps = append(snaps, view.AppendStored(nil, raw))
	}
	b.Run("UnmarshalView", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var p profile.Profile
			if err := profile.UnmarshalView(snaps[i%len(snaps)], &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("VarsInto", func(b *testing.B) {
		ps := make([]*profile.Profile, len(snaps))
		for i, s := range snaps {
			ps[i] = new(profile.Profile)
			if err := profile.UnmarshalView(s, ps[i]); err != nil {
				b.Fatal(err)
			}
		}
		m := map[string]any{}
		now := time.Now()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ps[i%len(ps)].VarsInto(m, now, profile.RFMBreakpoints{})
			clear(m)
		}
	})
}
