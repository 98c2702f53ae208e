package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// counters is what a member's registry says: each series' value by name
// and labels ("ecrm_profiler_records_total{kind=hit}"), and, for
// histograms, their sample count and sum under name_count and name_sum.
type counters map[string]float64

// gather reads reg's counters, gauges and histograms.
func gather(reg prometheus.Gatherer) (counters, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	c := counters{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if labels := m.GetLabel(); len(labels) > 0 {
				parts := make([]string, len(labels))
				for i, l := range labels {
					parts[i] = l.GetName() + "=" + l.GetValue()
				}
				name += "{" + strings.Join(parts, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				c[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				c[name] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				c[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
				c[name+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return c, nil
}

// records returns the profiler's records counter for kind.
func (c counters) records(kind string) float64 {
	return c["ecrm_profiler_records_total{kind="+kind+"}"]
}

// recordsTotal returns the profiler's records counter summed over kinds.
func (c counters) recordsTotal() float64 {
	var sum float64
	for name, v := range c {
		if strings.HasPrefix(name, "ecrm_profiler_records_total{") {
			sum += v
		}
	}
	return sum
}

// recordKinds lists the records counter's kinds and values.
func (c counters) recordKinds() string {
	var parts []string
	for name, v := range c {
		if kind, ok := strings.CutPrefix(name, "ecrm_profiler_records_total{kind="); ok {
			parts = append(parts, fmt.Sprintf("%s=%.0f", strings.TrimSuffix(kind, "}"), v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
