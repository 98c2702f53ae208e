package configtopic

import (
	"context"
	"errors"
	"testing"

	"github.com/ecrm/ecrm/internal/kafka"
)

type def struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type defs map[string]def

func (d defs) Put(v def) error {
	if v.Name == "bad" {
		return errors.New("refused by the registry")
	}
	d[v.ID] = v
	return nil
}

func (d defs) Delete(id string) bool {
	_, ok := d[id]
	delete(d, id)
	return ok
}

type recorder struct {
	msgs []kafka.Message
	err  error
}

func (r *recorder) Publish(_ context.Context, msgs ...kafka.Message) error {
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// TestWriter: a change is published, then applied; a refused, failed or
// pointless one changes nothing; what it published, applied by another
// replica's handler, gives the same registry.
func TestWriter(t *testing.T) {
	ctx := context.Background()
	reg, pub := defs{}, &recorder{}
	w := NewWriter[def]("thing", "cfg", pub, reg)
	exists := func(id string) bool { _, ok := reg[id]; return ok }

	if err := w.Put(ctx, "a", def{ID: "a", Name: "A"}, nil); err != nil || reg["a"].Name != "A" {
		t.Fatalf("Put = %v, registry %v", err, reg)
	}
	if m := pub.msgs[0]; m.Topic != "cfg" || string(m.Key) != "thing:a" || string(m.Value) != `{"id":"a","name":"A"}` {
		t.Errorf("published %s %s %s", m.Topic, m.Key, m.Value)
	}
	refused := errors.New("taken")
	if err := w.Put(ctx, "b", def{ID: "b"}, func() error { return refused }); !errors.Is(err, refused) || len(pub.msgs) != 1 || exists("b") {
		t.Errorf("a refused Put = %v, %d published, registry %v", err, len(pub.msgs), reg)
	}
	if err := w.Put(ctx, "c", def{ID: "c", Name: "bad"}, nil); err == nil || errors.Is(err, ErrPublish) || exists("c") {
		t.Errorf("Put the registry refuses = %v, registry %v", err, reg)
	}
	if err := w.Delete(ctx, "zz", exists); !errors.Is(err, ErrNotFound) || len(pub.msgs) != 2 {
		t.Errorf("Delete of nothing = %v, %d published", err, len(pub.msgs))
	}
	pub.err = errors.New("broker down")
	if err := w.Put(ctx, "d", def{ID: "d"}, nil); !errors.Is(err, ErrPublish) || exists("d") {
		t.Errorf("Put, broker down = %v, registry %v", err, reg)
	}
	if err := w.Delete(ctx, "a", exists); !errors.Is(err, ErrPublish) || !exists("a") {
		t.Errorf("Delete, broker down = %v, registry %v", err, reg)
	}
	pub.err = nil
	if err := w.Delete(ctx, "a", exists); err != nil || exists("a") {
		t.Errorf("Delete = %v, registry %v", err, reg)
	}
	// Another replica applies what was published, in order.
	other := defs{}
	apply := Apply[def](other)
	for _, m := range pub.msgs {
		_, id, _ := KindKeys(m.Key)
		if err := apply(id, m.Value); (err != nil) != (id == "c") {
			t.Fatalf("apply %s: %v (only c, which the registry refuses, must fail)", m.Key, err)
		}
	}
	if len(other) != len(reg) {
		t.Errorf("the other replica holds %v, this one %v", other, reg)
	}
	if err := apply("x", []byte(`{"id":`)); err == nil {
		t.Error("Apply accepts a value that is not JSON")
	}
}
