// Package stats holds the aggregates the profiler publishes on the stats
// topic and what is derived from them: the funnel from visitor to repeat
// customer per site, day and first-touch channel, and the distribution of
// customers' recency, frequency and monetary value per site, from which
// RFM scores are made relative to the site's whole customer population.
//
// Every profiler partition keeps its own partial aggregates, exactly once
// with the rest of its state, and publishes each as "<id>@<partition>"; a
// reader sums the partials of an id over partitions (Merge).
package stats

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/profile"
)

// FunnelID returns the id of the funnel aggregate of a site, a day
// (YYYY-MM-DD, UTC) and a first-touch channel.
func FunnelID(site, day, channel string) string {
	return "funnel/" + site + "/" + day + "/" + channel
}

// ParseFunnelID splits a funnel aggregate id.
func ParseFunnelID(id string) (site, day, channel string, ok bool) {
	rest, ok := strings.CutPrefix(id, "funnel/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// RFMID returns the id of the RFM distribution of a site.
func RFMID(site string) string { return "rfm/" + site }

// Funnel counts, for one site, day and first-touch channel, the profiles
// that reached each funnel stage that day, the stage-to-stage transitions
// ("visitor>engaged"), and the orders and revenue of the day.
type Funnel struct {
	Stages      map[string]int64 `json:"stages,omitempty"`
	Transitions map[string]int64 `json:"transitions,omitempty"`
	Orders      int64            `json:"orders,omitempty"`
	Revenue     float64          `json:"revenue,omitempty"`
}

// Reach counts a profile moving from stage from ("" for a new profile) to
// stage to, passing through every stage between, and returns the stages
// it counted.
func (f *Funnel) Reach(from, to string) []string {
	f.init()
	i, j := profile.FunnelRank(from), profile.FunnelRank(to)
	if j < 0 || j <= i {
		return nil
	}
	stages := funnelStages()
	for k := i + 1; k <= j; k++ {
		f.Stages[stages[k]]++
		if k > 0 {
			f.Transitions[stages[k-1]+">"+stages[k]]++
		}
	}
	return stages[i+1 : j+1]
}

// Retract takes back the count of a profile reaching stage (and the
// transition into it) when the profile was merged into another person's.
func (f *Funnel) Retract(stage string) {
	f.init()
	i := profile.FunnelRank(stage)
	if i < 0 {
		return
	}
	f.Stages[stage]--
	if i > 0 {
		f.Transitions[funnelStages()[i-1]+">"+stage]--
	}
}

// Add adds other into f.
func (f *Funnel) Add(other Funnel) {
	f.init()
	for k, v := range other.Stages {
		f.Stages[k] += v
	}
	for k, v := range other.Transitions {
		f.Transitions[k] += v
	}
	f.Orders += other.Orders
	f.Revenue += other.Revenue
}

func (f *Funnel) init() {
	if f.Stages == nil {
		f.Stages = map[string]int64{}
	}
	if f.Transitions == nil {
		f.Transitions = map[string]int64{}
	}
}

func funnelStages() []string {
	return []string{profile.FunnelVisitor, profile.FunnelEngaged, profile.FunnelIdentified, profile.FunnelCustomer, profile.FunnelRepeat}
}

// RFM is the distribution of a site's customers: how many last ordered on
// each day (days since 1970-01-01, UTC), how many have each order count,
// and how many spent within each monetary bucket (see MonetaryBucket).
type RFM struct {
	LastOrderDay map[int64]int64 `json:"lastOrderDay,omitempty"`
	Frequency    map[int64]int64 `json:"frequency,omitempty"`
	Monetary     map[int64]int64 `json:"monetary,omitempty"`
}

// Customer is what the RFM distribution holds of one customer.
type Customer struct {
	LastOrder time.Time
	Orders    int64
	Revenue   float64
}

// monetaryStep is the ratio between monetary buckets: 5%.
const monetaryStep = 1.05

// MonetaryBucket returns the bucket of an amount: buckets grow by 5%, so
// a bucket's value is known within 5%.
func MonetaryBucket(v float64) int64 {
	if v < 1 {
		return 0
	}
	return int64(math.Floor(math.Log(v)/math.Log(monetaryStep))) + 1
}

// bucketValue returns the lower bound of a monetary bucket.
func bucketValue(b int64) float64 {
	if b <= 0 {
		return 0
	}
	return math.Pow(monetaryStep, float64(b-1))
}

// Change adds (sign +1) or removes (sign -1) a customer.
func (r *RFM) Change(c Customer, sign int64) {
	if c.Orders <= 0 {
		return
	}
	r.init()
	bump(r.LastOrderDay, c.LastOrder.Unix()/86400, sign)
	bump(r.Frequency, c.Orders, sign)
	bump(r.Monetary, MonetaryBucket(c.Revenue), sign)
}

func (r *RFM) init() {
	if r.LastOrderDay == nil {
		r.LastOrderDay = map[int64]int64{}
	}
	if r.Frequency == nil {
		r.Frequency = map[int64]int64{}
	}
	if r.Monetary == nil {
		r.Monetary = map[int64]int64{}
	}
}

func bump(m map[int64]int64, k, d int64) {
	m[k] += d
	if m[k] == 0 {
		delete(m, k)
	}
}

// Add adds other into r.
func (r *RFM) Add(other RFM) {
	r.init()
	for k, v := range other.LastOrderDay {
		bump(r.LastOrderDay, k, v)
	}
	for k, v := range other.Frequency {
		bump(r.Frequency, k, v)
	}
	for k, v := range other.Monetary {
		bump(r.Monetary, k, v)
	}
}

// Customers returns how many customers the distribution holds.
func (r RFM) Customers() int64 {
	var n int64
	for _, v := range r.Frequency {
		n += v
	}
	return n
}

// Breakpoints returns the quintile cut points of the distribution at now,
// as profile.ComputeBreakpoints would from every customer's raw values
// (recency in days, order count, revenue within 5%).
func (r RFM) Breakpoints(now time.Time) profile.RFMBreakpoints {
	if r.Customers() == 0 {
		return profile.RFMBreakpoints{}
	}
	today := float64(now.Unix()) / 86400
	rec := make(map[float64]int64, len(r.LastOrderDay))
	for d, n := range r.LastOrderDay {
		rec[max(today-float64(d)-0.5, 0)] += n
	}
	freq := make(map[float64]int64, len(r.Frequency))
	for f, n := range r.Frequency {
		freq[float64(f)] += n
	}
	mon := make(map[float64]int64, len(r.Monetary))
	for b, n := range r.Monetary {
		mon[bucketValue(b)] += n
	}
	return profile.RFMBreakpoints{R: quintiles(rec), F: quintiles(freq), M: quintiles(mon)}
}

// quintiles returns the 20th, 40th, 60th and 80th percentiles of a
// weighted distribution (value → count).
func quintiles(h map[float64]int64) [4]float64 {
	vals := make([]float64, 0, len(h))
	var total int64
	for v, n := range h {
		if n > 0 {
			vals = append(vals, v)
			total += n
		}
	}
	slices.Sort(vals)
	var out [4]float64
	if total == 0 {
		return out
	}
	q, cum := 0, int64(0)
	for _, v := range vals {
		cum += h[v]
		for q < 4 && float64(cum) >= float64(total)*float64(q+1)/5 {
			out[q] = v
			q++
		}
	}
	return out
}

// ParetoPoint says that the top TopShare of customers (by revenue) bring
// RevenueShare of the revenue.
type ParetoPoint struct {
	TopShare     float64 `json:"topShare"`
	RevenueShare float64 `json:"revenueShare"`
}

// Pareto returns the Pareto curve of the distribution: for the top 1%, 5%,
// 10%, 20%, 50% and 100% of customers by revenue, their share of it
// (revenue known within 5%, from the monetary buckets).
func (r RFM) Pareto() []ParetoPoint {
	total := r.Customers()
	if total == 0 {
		return nil
	}
	buckets := make([]int64, 0, len(r.Monetary))
	var revenue float64
	for b, n := range r.Monetary {
		buckets = append(buckets, b)
		revenue += bucketMid(b) * float64(n)
	}
	if revenue == 0 {
		return nil
	}
	slices.Sort(buckets)
	slices.Reverse(buckets)
	var out []ParetoPoint
	for _, share := range []float64{0.01, 0.05, 0.10, 0.20, 0.50, 1} {
		want := share * float64(total)
		var taken, sum float64
		for _, b := range buckets {
			n := float64(r.Monetary[b])
			take := min(n, want-taken)
			if take <= 0 {
				break
			}
			taken += take
			sum += take * bucketMid(b)
		}
		out = append(out, ParetoPoint{TopShare: share, RevenueShare: sum / revenue})
	}
	return out
}

// bucketMid is a monetary bucket's typical value.
func bucketMid(b int64) float64 {
	if b <= 0 {
		return 0.5
	}
	return bucketValue(b) * (1 + monetaryStep) / 2
}
