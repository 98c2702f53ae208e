package console

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/stats"
)

// FunnelStages are the stages of the funnel, in order.
var FunnelStages = []string{profile.FunnelVisitor, profile.FunnelEngaged, profile.FunnelIdentified, profile.FunnelCustomer, profile.FunnelRepeat}

// FunnelPart is one funnel aggregate, summed over the profiler's
// partitions: a site's day (YYYY-MM-DD, UTC) and first-touch channel.
type FunnelPart struct {
	Site, Day, Channel string
	Funnel             stats.Funnel
}

// Step is the conversion from one funnel stage to the next: Rate is the
// people reaching To over those reaching From in the same range (0 when
// none reached From).
type Step struct {
	From string  `json:"from"`
	To   string  `json:"to"`
	Rate float64 `json:"rate"`
}

// FunnelRow is the funnel of a group of people: everyone in the range, a
// first-touch channel, or a weekly cohort. Stages holds every stage, zero
// included.
type FunnelRow struct {
	// Key is "total", the channel, or the ISO week ("2026-W07").
	Key string `json:"key"`
	// WeekStart is a cohort's Monday (YYYY-MM-DD).
	WeekStart string           `json:"weekStart,omitempty"`
	Stages    map[string]int64 `json:"stages"`
	Steps     []Step           `json:"steps"`
	// Conversion is customers over visitors.
	Conversion float64 `json:"conversion"`
	Orders     int64   `json:"orders"`
	Revenue    float64 `json:"revenue"`
}

// FunnelReport is the funnel over a range of days: in total, by
// first-touch channel (most visitors first) and by weekly cohort (ISO
// week of the day a person reached a stage, oldest first).
type FunnelReport struct {
	From     string      `json:"from"`
	To       string      `json:"to"`
	Site     string      `json:"site"`
	Stages   []string    `json:"stages"`
	Total    FunnelRow   `json:"total"`
	Channels []FunnelRow `json:"channels"`
	Cohorts  []FunnelRow `json:"cohorts"`
}

// BuildFunnel sums the parts whose day is within [from, to] (YYYY-MM-DD)
// and whose site is site ("" for every site).
func BuildFunnel(from, to, site string, parts []FunnelPart) FunnelReport {
	total := stats.Funnel{}
	byChannel := map[string]*stats.Funnel{}
	byWeek := map[string]*stats.Funnel{}
	weekStart := map[string]string{}
	for _, p := range parts {
		if p.Day < from || p.Day > to || (site != "" && p.Site != site) {
			continue
		}
		total.Add(p.Funnel)
		add(byChannel, p.Channel, p.Funnel)
		if d, err := time.Parse(time.DateOnly, p.Day); err == nil {
			w := ISOWeek(d)
			add(byWeek, w, p.Funnel)
			weekStart[w] = Monday(d).Format(time.DateOnly)
		}
	}
	r := FunnelReport{From: from, To: to, Site: site, Stages: FunnelStages, Total: row("total", total)}
	r.Channels = make([]FunnelRow, 0, len(byChannel))
	for k, f := range byChannel {
		r.Channels = append(r.Channels, row(k, *f))
	}
	slices.SortFunc(r.Channels, func(a, b FunnelRow) int {
		if c := cmp.Compare(b.Stages[profile.FunnelVisitor], a.Stages[profile.FunnelVisitor]); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	r.Cohorts = make([]FunnelRow, 0, len(byWeek))
	for k, f := range byWeek {
		w := row(k, *f)
		w.WeekStart = weekStart[k]
		r.Cohorts = append(r.Cohorts, w)
	}
	slices.SortFunc(r.Cohorts, func(a, b FunnelRow) int { return cmp.Compare(a.Key, b.Key) })
	return r
}

func add(m map[string]*stats.Funnel, k string, f stats.Funnel) {
	if m[k] == nil {
		m[k] = new(stats.Funnel)
	}
	m[k].Add(f)
}

func row(key string, f stats.Funnel) FunnelRow {
	r := FunnelRow{Key: key, Stages: make(map[string]int64, len(FunnelStages)), Orders: f.Orders, Revenue: round2(f.Revenue)}
	for _, s := range FunnelStages {
		r.Stages[s] = f.Stages[s]
	}
	for i := 1; i < len(FunnelStages); i++ {
		a, b := FunnelStages[i-1], FunnelStages[i]
		r.Steps = append(r.Steps, Step{From: a, To: b, Rate: ratio(r.Stages[b], r.Stages[a])})
	}
	r.Conversion = ratio(r.Stages[profile.FunnelCustomer], r.Stages[profile.FunnelVisitor])
	return r
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return round4(float64(a) / float64(b))
}

// ISOWeek names the ISO 8601 week of t, "2026-W07".
func ISOWeek(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// Monday returns the Monday of t's ISO week, at midnight UTC.
func Monday(t time.Time) time.Time {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
}
