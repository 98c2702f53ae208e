package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestSettle(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 2048)
	for batch := range 20 {
		b := db.NewBatch()
		for i := range 1000 {
			b.Set(fmt.Appendf(nil, "p/%03d/%05d", batch, i), value)
		}
		if err := b.CommitNoSync(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.Settle(ctx); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if n := db.db.Metrics().Compact.NumInProgress; n != 0 {
		t.Errorf("%d compactions running after Settle", n)
	}
	if _, err := db.Get([]byte("p/019/00999")); err != nil {
		t.Errorf("Get after Settle: %v", err)
	}
}
