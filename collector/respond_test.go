package collector

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ecrm/ecrm/internal/event"
)

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name string
		res  Response
		ok   bool // appendResponse writes it, rather than leaving it to json.Marshal
	}{
		{"one accepted", Response{Accepted: 1, Rejected: []event.Rejection{}}, true},
		{"none", Response{Rejected: []event.Rejection{}}, true},
		{"many accepted", Response{Accepted: 500, Rejected: []event.Rejection{}}, true},
		{"dropped", Response{Accepted: 2, Rejected: []event.Rejection{}, Dropped: 3}, true},
		{"opted out", Response{Rejected: []event.Rejection{}, Dropped: 1}, true},
		{"rejected", Response{Accepted: 1, Rejected: []event.Rejection{{Index: 1, Message: "invalid event: <type> \"x\""}}}, false},
		{"error", Response{Error: "no event of the batch is valid", Rejected: []event.Rejection{{Index: 0, Message: "m"}}}, false},
		{"nil rejected", Response{Accepted: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := appendResponse([]byte("x"), tc.res)
			if ok != tc.ok {
				t.Fatalf("appendResponse(%+v) ok = %t, want %t", tc.res, ok, tc.ok)
			}
			if !ok {
				if string(got) != "x" {
					t.Errorf("appendResponse(%+v) = %q, want dst as it was", tc.res, got)
				}
				return
			}
			want, err := json.Marshal(tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[1:], want) || got[0] != 'x' {
				t.Errorf("appendResponse(%+v) = %s, want x%s", tc.res, got, want)
			}
		})
	}
}

func TestValidVisitorID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{"0123456789ABCDEF0123456789ABCDEF", true},
		{"0123456789abcdef0123456789abcde", false},
		{"0123456789abcdef0123456789abcdef0", false},
		{"0123456789abcdef0123456789abcdeg", false},
		{"0123456789abcdef 123456789abcdef", false},
		{"", false},
		{"é123456789abcdef0123456789abcde", false},
	}
	for _, tc := range tests {
		if got := validVisitorID(tc.id); got != tc.want {
			t.Errorf("validVisitorID(%q) = %t, want %t", tc.id, got, tc.want)
		}
	}
}
