package recommend

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// requests asks every type about every item of a small model.
func requests() []Request {
	var reqs []Request
	for _, ty := range []Type{Similar, Together, Personal, Popular, Trending} {
		for i := range 12 {
			reqs = append(reqs,
				Request{Type: ty, Item: fmt.Sprint("i", i), Context: []string{fmt.Sprint("i", (i+5)%12)}},
				Request{Type: ty, Item: fmt.Sprint("i", i), Category: "c1"},
				Request{Type: ty, Visitor: fmt.Sprint("v", i)},
			)
		}
	}
	return reqs
}

// mustTrained returns a model of cfg trained on a few hundred events.
func mustTrained(tb testing.TB, cfg Config) *Model {
	tb.Helper()
	m, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	mustFeed(tb, m, 0, 400)
	return m
}

// mustFeed observes the events from to to of a fixed stream.
func mustFeed(tb testing.TB, m *Model, from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		in := Interaction{
			Visitor: fmt.Sprint("v", (i/5)%40), Item: fmt.Sprint("i", (i*7+i/13)%12),
			Kind: []Kind{View, View, Cart, View, Order}[i%5], Category: fmt.Sprint("c", i%2),
			Time: t0.Add(time.Duration(i) * 3 * time.Minute),
		}
		if err := m.Observe(in); err != nil {
			tb.Fatal(err)
		}
	}
}

// diff returns the first differing line of two answers.
func diff(x, y string) string {
	xs, ys := strings.Split(x, "\n"), strings.Split(y, "\n")
	for i := range min(len(xs), len(ys)) {
		if xs[i] != ys[i] {
			return fmt.Sprintf("request %d: %+v\ngot  %s\nwant %s", i, requests()[i], ys[i], xs[i])
		}
	}
	return "different lengths"
}

func answers(m *Model) string {
	var b bytes.Buffer
	for _, r := range requests() {
		fmt.Fprintln(&b, m.Recommend(r))
	}
	return b.String()
}

func TestSnapshotRoundTrip(t *testing.T) {
	cfg := Config{SessionsPerItem: 20}
	a := mustTrained(t, cfg)
	a.Refresh()
	var buf bytes.Buffer
	n, err := a.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	b, _ := New(cfg)
	if n2, err := b.ReadFrom(bytes.NewReader(buf.Bytes())); err != nil || n2 != n {
		t.Fatalf("ReadFrom = %d, %v, want %d, nil", n2, err, n)
	}
	if a.Stats() != b.Stats() {
		t.Errorf("Stats after the round trip = %+v, want %+v", b.Stats(), a.Stats())
	}
	if x, y := answers(a), answers(b); x != y {
		t.Errorf("answers differ after the round trip: %s", diff(x, y))
	}
	// Both learn the same from here on: live sessions, rings and decay
	// came through.
	mustFeed(t, a, 400, 600)
	mustFeed(t, b, 400, 600)
	a.Refresh()
	b.Refresh()
	if x, y := answers(a), answers(b); x != y {
		t.Errorf("answers differ after more events: %s", diff(x, y))
	}
}

// TestSnapshotFollowed checks that a snapshot read from a bufio.Reader
// leaves what follows it in the stream.
func TestSnapshotFollowed(t *testing.T) {
	a := mustTrained(t, Config{})
	a.Refresh() // as ReadFrom does
	var buf bytes.Buffer
	buf.WriteString("header\n")
	if _, err := a.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("trailer\n")
	r := bufio.NewReader(&buf)
	if line, _ := r.ReadString('\n'); line != "header\n" {
		t.Fatalf("first line %q", line)
	}
	b, _ := New(Config{})
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "trailer\n" {
		t.Errorf("after ReadFrom the stream holds %q, want the trailer", rest)
	}
	if x, y := answers(a), answers(b); x != y {
		t.Errorf("answers differ after the round trip: %s", diff(x, y))
	}
}

func TestSnapshotBad(t *testing.T) {
	a := mustTrained(t, Config{})
	var good bytes.Buffer
	if _, err := a.WriteTo(&good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a snapshot at all")},
		{"truncated", good.Bytes()[:good.Len()/2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustTrained(t, Config{})
			before := answers(m)
			if _, err := m.ReadFrom(bytes.NewReader(tc.data)); !errors.Is(err, ErrBadSnapshot) {
				t.Errorf("ReadFrom(%s) = %v, want ErrBadSnapshot", tc.name, err)
			}
			if answers(m) != before {
				t.Errorf("ReadFrom(%s) changed the model", tc.name)
			}
		})
	}
}
