package profiler

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/stats"
)

// siteOf returns the site a profile's aggregates count under.
func siteOf(p *profile.Profile) string {
	if p.SiteID == "" {
		return "unknown"
	}
	return p.SiteID
}

// channelOf returns the first-touch channel aggregates count under.
func channelOf(p *profile.Profile) string {
	if p.FirstTouch.Channel == "" {
		return profile.ChannelDirect
	}
	return p.FirstTouch.Channel
}

func customerOf(p *profile.Profile) stats.Customer {
	return stats.Customer{LastOrder: p.Orders.Last, Orders: p.Orders.Count, Revenue: p.Orders.Revenue}
}

// aggregate counts what changed in a profile since the batch loaded it:
// funnel stages reached and orders (on the day of the profile's last hit,
// under its first-touch channel), and its entry in the site's RFM
// distribution.
func (b *batch) aggregate(prof *profile.Profile, bf before) {
	site := siteOf(prof)
	day := prof.LastSeen.UTC().Format(time.DateOnly)
	fid := stats.FunnelID(site, day, channelOf(prof))
	stage := prof.FunnelStage()
	var f *stats.Funnel
	funnel := func() *stats.Funnel {
		if f == nil {
			f = b.funnel(fid)
		}
		return f
	}
	if profile.FunnelRank(stage) > profile.FunnelRank(bf.funnel) {
		for _, s := range funnel().Reach(bf.funnel, stage) {
			if prof.Counted == nil {
				prof.Counted = map[string]string{}
			}
			prof.Counted[s] = fid
		}
	}
	if d := prof.Orders.Count - bf.orders; d > 0 {
		funnel().Orders += d
		funnel().Revenue += prof.Orders.Revenue - bf.revenue
	}
	if now := customerOf(prof); now != bf.customer {
		b.rfm(stats.RFMID(bf.site)).Change(bf.customer, -1)
		b.rfm(stats.RFMID(site)).Change(now, +1)
	}
	for id, x := range prof.Campaigns {
		old := bf.campaigns[id]
		if *x == old {
			continue
		}
		arm := b.result(id).Arm(x.Group)
		if old.Count == 0 && x.Count > 0 {
			arm.Visitors++
		}
		if x.Converted && !old.Converted {
			arm.Converted++
		}
		arm.Orders += x.Orders - old.Orders
		arm.Revenue += x.Revenue - old.Revenue
	}
}

// CampaignID returns the stats id of a campaign's result.
func CampaignID(id string) string { return "campaign/" + id }

func (b *batch) result(id string) *campaign.Result {
	key := CampaignID(id)
	if r, ok := b.results[key]; ok {
		return r
	}
	r := new(campaign.Result)
	b.loadAgg(key, r)
	b.results[key] = r
	return r
}

// absorbed raises the order baseline of a profile that absorbed other: its
// orders were counted where they happened. Its funnel stages were taken
// back where it lived (see removed), so the person's stages count anew.
func (b *batch) absorbed(key string, other *profile.Profile) {
	bf := b.before[key]
	bf.orders += other.Orders.Count
	bf.revenue += other.Orders.Revenue
	b.before[key] = bf
}

// removed takes a profile handed over to another partition out of this
// partition's aggregates: its entry in the RFM distribution and the funnel
// stages it was counted at, so that a person is counted once.
func (b *batch) removed(prof *profile.Profile) {
	b.rfm(stats.RFMID(siteOf(prof))).Change(customerOf(prof), -1)
	for stage, fid := range prof.Counted {
		b.funnel(fid).Retract(stage)
	}
	for id, x := range prof.Campaigns {
		arm := b.result(id).Arm(x.Group)
		arm.Visitors--
		if x.Converted {
			arm.Converted--
		}
		arm.Orders -= x.Orders
		arm.Revenue -= x.Revenue
	}
}

func (b *batch) funnel(id string) *stats.Funnel {
	if f, ok := b.funnels[id]; ok {
		return f
	}
	f := new(stats.Funnel)
	b.loadAgg(id, f)
	b.funnels[id] = f
	return f
}

func (b *batch) rfm(id string) *stats.RFM {
	if r, ok := b.rfms[id]; ok {
		return r
	}
	r := new(stats.RFM)
	b.loadAgg(id, r)
	b.rfms[id] = r
	return r
}

func (b *batch) loadAgg(id string, v any) {
	raw, err := b.p.db.Get([]byte(partPrefix(b.partition) + "a/" + id))
	if err != nil {
		return // absent: starts at zero; a read error shows at commit
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.fail(fmt.Errorf("decode aggregate %s: %w", id, err))
	}
}

// aggregates returns the aggregates the batch changed, encoded, by id.
func (b *batch) aggregates() map[string][]byte {
	out := make(map[string][]byte, len(b.funnels)+len(b.rfms)+len(b.results))
	for id, r := range b.results {
		out[id] = mustJSON(r)
	}
	for id, f := range b.funnels {
		out[id] = mustJSON(f)
	}
	for id, r := range b.rfms {
		out[id] = mustJSON(r)
	}
	return out
}

// statsKey is the stats topic key of a partition's partial aggregate.
func statsKey(id string, partition int) []byte {
	return []byte(id + "@" + strconv.Itoa(partition))
}

// rfmView sums the RFM partials every partition publishes, so that each
// member scores RFM against the site's whole customer population.
type rfmView struct {
	mu       sync.Mutex
	partials map[string]map[string]stats.RFM // site → "partition" → partial
	cache    map[string]profile.RFMBreakpoints
	cachedAt time.Time
}

func (v *rfmView) Open(context.Context, int) (int64, error) { return kafka.FirstOffset, nil }
func (v *rfmView) Close(int)                                {}
func (v *rfmView) Handle(_ context.Context, _ int, msgs []kafka.Message) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range msgs {
		id, part, ok := strings.Cut(string(m.Key), "@")
		site, isRFM := strings.CutPrefix(id, "rfm/")
		if !ok || !isRFM {
			continue
		}
		if v.partials[site] == nil {
			v.partials[site] = map[string]stats.RFM{}
		}
		var r stats.RFM
		if m.Value == nil || json.Unmarshal(m.Value, &r) != nil {
			delete(v.partials[site], part)
			continue
		}
		v.partials[site][part] = r
	}
	v.cache = nil
	return nil
}

// breakpoints returns the site's RFM breakpoints, recomputed at most once a
// minute.
func (v *rfmView) breakpoints(site string, now time.Time) profile.RFMBreakpoints {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil || now.Sub(v.cachedAt) > time.Minute {
		v.cache, v.cachedAt = map[string]profile.RFMBreakpoints{}, now
	}
	if bp, ok := v.cache[site]; ok {
		return bp
	}
	var sum stats.RFM
	for _, r := range v.partials[site] {
		sum.Add(r)
	}
	bp := sum.Breakpoints(now)
	v.cache[site] = bp
	return bp
}

// breakpoints returns the RFM breakpoints of a site.
func (p *Profiler) breakpoints(site string, now time.Time) profile.RFMBreakpoints {
	return p.rfm.breakpoints(site, now)
}
