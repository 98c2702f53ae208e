package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
)

// sampleSize is how many requests of each kind the sample sends.
const sampleSize = 1000

// sample sends sampleSize recommend and decide requests one at a time,
// before any load, and prints what the answers hold: the reasons of the
// recommended items (the asked type, or popular filling in), and the
// decisions by campaign and group. It shows that the state answers as a
// shop's would, and fails on any answer other than 2xx or an empty
// recommendation. It returns the exposures the decisions recorded.
func (b *bench) sample() (exposed uint64, err error) {
	for _, t := range []target{b.s.Recommend(), b.s.Decide()} {
		client := loadgen.NewClient(t.addr, 1, b.cfg.Timeout)
		s := newSender(t, b.w, client)
		reasons := map[string]map[string]int{} // type → reason → items
		groups := map[string]int{}
		for range sampleSize {
			if !s.Send() {
				continue
			}
			body := s.Resp.Body()
			if t.kind == kindRecommend {
				var ans struct {
					Type  string
					Items []struct{ Reason string }
				}
				if err := json.Unmarshal(body, &ans); err != nil {
					return 0, fmt.Errorf("sample %s: answer %q: %w", t.name, body, err)
				}
				if reasons[ans.Type] == nil {
					reasons[ans.Type] = map[string]int{}
				}
				for _, it := range ans.Items {
					reasons[ans.Type][it.Reason]++
				}
				continue
			}
			var ans struct {
				Group    string
				Campaign *struct{ ID string }
			}
			if err := json.Unmarshal(body, &ans); err != nil {
				return 0, fmt.Errorf("sample %s: answer %q: %w", t.name, body, err)
			}
			switch {
			case ans.Campaign != nil:
				groups[ans.Campaign.ID]++
			case ans.Group != "":
				groups[ans.Group]++
			default:
				groups["none"]++
			}
		}
		client.CloseIdleConnections()
		fmt.Fprintf(b.out, "sample %s: %s", t.name, counts(s.Tally()))
		if t.kind == kindRecommend {
			for _, typ := range slices.Sorted(maps.Keys(reasons)) {
				fmt.Fprintf(b.out, " %s_items_by_reason=%s", typ, shares(reasons[typ]))
			}
		} else {
			fmt.Fprintf(b.out, " decisions=%s", shares(groups))
			exposed = s.Tally().Marked
		}
		fmt.Fprintln(b.out)
		if err := s.Tally().Failure("sample "+t.name, empty); err != nil {
			return 0, err
		}
	}
	return exposed, nil
}

// shares formats counts as percentages of their sum, largest first:
// "popular:60%,personal:40%".
func shares(counts map[string]int) string {
	total := 0
	for _, n := range counts {
		total += n
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%.0f%%", k, 100*float64(counts[k])/float64(max(total, 1))))
	}
	return strings.Join(parts, ",")
}
