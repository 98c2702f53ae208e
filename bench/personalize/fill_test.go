package main

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/store"
	"github.com/ecrm/ecrm/internal/view"
)

// TestFillStoreLayout checks that the view finds every visitor's profile
// by each of their identifiers in the store fillStore wrote: the layout is
// the one view's tailer writes.
func TestFillStoreLayout(t *testing.T) {
	w := newWorld(7, 500, 200, time.Now())
	db, err := store.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := fillStore(context.Background(), db, w)
	if err != nil {
		t.Fatal(err)
	}
	if f.profiles != w.profiles || f.identities < w.profiles {
		t.Fatalf("fillStore() wrote %d profiles, %d identities; want %d, at least as many", f.profiles, f.identities, w.profiles)
	}
	v, err := view.New(kafka.Config{}.WithDefaults(), db, view.Options{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i := range w.profiles {
		want := identity.ProfileID(w.profileKey(i))
		for _, id := range w.identifiers(nil, i) {
			p, err := v.Lookup(id)
			if err != nil || p.ID != want {
				t.Fatalf("Lookup(%q) = %v, %v; want profile %s", id, p, err, want)
			}
			b, err := v.Brief(id)
			if err != nil || !slices.Equal(b.Recent(nil), p.RecentProductIDs()) || !slices.Equal(b.Bought(nil), p.Orders.Bought) || len(b.Cart(nil)) != len(p.Cart.Lines) {
				t.Fatalf("Brief(%q) = %q %q %q, %v; want the profile's recent items, bought items and cart", id, b.Recent(nil), b.Bought(nil), b.Cart(nil), err)
			}
		}
	}
}
