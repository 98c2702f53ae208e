package profiler

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/stats"
)

// Types of trigger, on the triggers topic.
const (
	TriggerSegmentEntered = "segment.entered"
	TriggerSegmentLeft    = "segment.left"
	TriggerFirstPurchase  = "purchase.first"
	TriggerCartAbandoned  = "cart.abandoned"
	TriggerLapsing        = "customer.lapsing"
)

// KindTick marks the clock records a member appends to the partitions it
// owns: timers fire and segments are re-evaluated as the partition's own
// records, so they survive restarts and follow partitions like the rest
// of the state.
const KindTick = "tick"

// Trigger is a record of the triggers topic, keyed by profile id. ID is
// stable across replays of the same input, so consumers de-duplicate by it.
type Trigger struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	ProfileID string         `json:"profileId"`
	Segment   string         `json:"segment,omitempty"`
	At        time.Time      `json:"at"`
	Data      map[string]any `json:"data,omitempty"`
}

// Timer kinds, in timer keys.
const (
	timerCart    = "cart"
	timerLapsing = "lapsing"
)

// timerKey is the partition-relative store key of a timer:
// t/<due unix seconds, rounded up, 20 digits>/<kind>/<owner key>.
func timerKey(due time.Time, kind, owner string) string {
	return fmt.Sprintf("t/%020d/%s/%s", ceilUnix(due), kind, owner)
}

// ceilUnix returns t in unix seconds, rounded up: a timer never fires
// before its time.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func parseTimerKey(k string) (due int64, kind, owner string, ok bool) {
	rest, ok := strings.CutPrefix(k, "t/")
	if !ok || len(rest) < 22 {
		return 0, "", "", false
	}
	due, err := strconv.ParseInt(rest[:20], 10, 64)
	if err != nil || rest[20] != '/' {
		return 0, "", "", false
	}
	kind, owner, ok = strings.Cut(rest[21:], "/")
	return due, kind, owner, ok
}

// before is what a profile was when the batch first loaded it: the
// baseline the batch's triggers and aggregates are changes from.
type before struct {
	orders      int64   // raised by absorbed profiles, already counted elsewhere
	revenue     float64 // likewise
	funnel      string  // likewise
	cartUpdated time.Time
	site        string
	customer    stats.Customer // the profile's own entry in the RFM distribution
	campaigns   map[string]profile.Exposure
}

// remember keeps a profile's state as first loaded in the batch.
func (b *batch) remember(key string, prof *profile.Profile) {
	if _, ok := b.before[key]; ok {
		return
	}
	var bf before
	if prof != nil {
		bf = before{orders: prof.Orders.Count, revenue: prof.Orders.Revenue, funnel: prof.FunnelStage(),
			cartUpdated: prof.Cart.UpdatedAt, site: siteOf(prof), customer: customerOf(prof)}
		if len(prof.Campaigns) > 0 {
			bf.campaigns = make(map[string]profile.Exposure, len(prof.Campaigns))
			for id, x := range prof.Campaigns {
				bf.campaigns[id] = *x
			}
		}
	}
	b.before[key] = bf
}

// finish evaluates what changed profiles now imply: segment membership,
// built-in triggers, and the timers of the time-based ones.
func (b *batch) finish(now time.Time) {
	for key := range b.dirty {
		prof := b.profiles[key]
		if prof == nil {
			continue
		}
		b.evaluate(key, prof, now)
		bf := b.before[key]
		b.aggregate(prof, bf)
		if bf.orders == 0 && prof.Orders.Count > 0 {
			b.trigger(TriggerFirstPurchase, prof, "", now, map[string]any{"revenue": prof.Orders.Revenue})
		}
		if prof.Orders.Count != bf.orders {
			if at := prof.AtRiskAt(); !at.IsZero() {
				b.timers[timerKey(at, timerLapsing, key)] = true
			}
		}
		if len(prof.Cart.Lines) > 0 && !prof.Cart.UpdatedAt.Equal(bf.cartUpdated) {
			b.timers[timerKey(prof.Cart.UpdatedAt.Add(b.p.cfg.CartAbandonAfter), timerCart, key)] = true
		}
	}
	b.aggs = b.aggregates()
}

// evaluate brings a profile's segment membership up to date and emits the
// segments it entered and left.
func (b *batch) evaluate(key string, prof *profile.Profile, now time.Time) {
	if b.p.cfg.Segments == nil || (len(prof.Segments) == 0 && b.p.cfg.Segments.Len() == 0) {
		return
	}
	matched := b.p.cfg.Segments.Match(prof.Vars(now, b.p.breakpoints(siteOf(prof), now)))
	entered, left := segment.Diff(prof.Segments, matched)
	if len(entered) == 0 && len(left) == 0 {
		return
	}
	prof.Segments = matched
	b.touch(key)
	for _, id := range entered {
		b.trigger(TriggerSegmentEntered, prof, id, now, nil)
	}
	for _, id := range left {
		b.trigger(TriggerSegmentLeft, prof, id, now, nil)
	}
}

func (b *batch) trigger(typ string, prof *profile.Profile, seg string, at time.Time, data map[string]any) {
	b.seq++
	t := Trigger{
		ID:   fmt.Sprintf("%d-%d-%d", b.partition, b.first, b.seq),
		Type: typ, ProfileID: prof.ID, Segment: seg, At: at.UTC(), Data: data,
	}
	b.emit(kafka.Message{Topic: b.p.topics.Triggers, Key: []byte(prof.ID), Value: mustJSON(t)})
	b.p.m.triggers.WithLabelValues(typ).Inc()
}

// tick fires the partition's timers that are due and re-evaluates the
// segments of the next slice of the partition's profiles, so that
// membership that changes with time alone (days since the last order, ...)
// is caught without a hit.
func (b *batch) tick(m *kafka.Message) {
	if len(m.Value) != 8 {
		return
	}
	now := time.UnixMilli(int64(binary.BigEndian.Uint64(m.Value))).UTC()
	b.p.m.hits.WithLabelValues("tick").Inc()
	prefix := []byte(partPrefix(b.partition) + "t/")
	var due []string
	err := b.p.db.Scan(prefix, func(k, _ []byte) bool {
		rel := string(k[len(partPrefix(b.partition)):])
		d, _, _, ok := parseTimerKey(rel)
		if ok && d > now.Unix() {
			return false
		}
		due = append(due, rel)
		return len(due) < 10000
	})
	if err != nil {
		b.fail(err)
		return
	}
	for _, rel := range due {
		if set, ok := b.timers[rel]; ok && !set {
			continue // fired by an earlier tick of this batch
		}
		b.timers[rel] = false
		d, kind, owner, ok := parseTimerKey(rel)
		if !ok {
			continue
		}
		prof := b.load(owner)
		if prof == nil {
			continue
		}
		b.remember(owner, prof)
		switch kind {
		case timerCart:
			// Fire only for the cart change that set this timer.
			if len(prof.Cart.Lines) > 0 && ceilUnix(prof.Cart.UpdatedAt.Add(b.p.cfg.CartAbandonAfter)) == d {
				b.trigger(TriggerCartAbandoned, prof, "", now, map[string]any{"value": prof.Cart.Value, "items": prof.Cart.Items()})
			}
		case timerLapsing:
			if at := prof.AtRiskAt(); !at.IsZero() && ceilUnix(at) == d {
				b.trigger(TriggerLapsing, prof, "", now, map[string]any{"lifecycle": prof.Lifecycle(now)})
			}
		}
		b.evaluate(owner, prof, now)
	}
	b.sweep(now)
}

// sweepSlice is how many profiles one tick re-evaluates.
const sweepSlice = 500

// sweep re-evaluates the segments of the next sweepSlice profiles of the
// partition, after the one the last sweep ended at.
func (b *batch) sweep(now time.Time) {
	if b.p.cfg.Segments == nil || len(b.p.cfg.Segments.List()) == 0 {
		return
	}
	prefix := []byte(partPrefix(b.partition) + "p/")
	cursor, _ := b.p.db.Get(sweepKey(b.partition))
	if len(cursor) > 0 {
		cursor = cursor[1:] // see sweepValue
	}
	var keys []string
	err := b.p.db.Scan(prefix, func(k, _ []byte) bool {
		owner := k[len(prefix):]
		if len(cursor) > 0 && bytes.Compare(owner, cursor) <= 0 {
			return true
		}
		keys = append(keys, string(owner))
		return len(keys) < sweepSlice
	})
	if err != nil {
		b.fail(err)
		return
	}
	for _, key := range keys {
		if prof := b.load(key); prof != nil {
			b.evaluate(key, prof, now)
		}
	}
	next := ""
	if len(keys) == sweepSlice {
		next = keys[len(keys)-1]
	}
	b.sweepTo = &next
}

func sweepKey(partition int) []byte { return []byte(partPrefix(partition) + "r") }

// runTicker appends a tick to every partition this member owns, every
// interval, until ctx is done.
func (p *Profiler) runTicker(ctx context.Context) {
	t := time.NewTicker(p.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.mu.Lock()
			parts := make([]int, 0, len(p.active))
			for part := range p.active {
				parts = append(parts, part)
			}
			p.mu.Unlock()
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], uint64(now.UnixMilli()))
			for _, part := range parts {
				msg := kafka.Message{Key: []byte(KindTick), Value: v[:], Time: now,
					Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindTick)}}}
				if _, err := p.clog.Append(ctx, p.topics.Hits, part, []kafka.Message{msg}); err != nil && ctx.Err() == nil {
					p.log.Warn("tick not appended", "partition", part, "err", err)
				}
			}
		}
	}
}
