package profiler

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/fastjson"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/stats"
	"github.com/ecrm/ecrm/internal/store"
)

// mergeRecord asks the partition owning Anon (an anonymous or email
// identifier) to link it to Target, a higher-ranked one.
type mergeRecord struct {
	Anon   string `json:"anon"`
	Target string `json:"target"`
}

// absorbRecord hands Profile over to the partition owning Target.
type absorbRecord struct {
	Target  string           `json:"target"`
	Profile *profile.Profile `json:"profile"`
}

// batch is the work on one batch of records of one partition: the profiles
// and links it read and changed, and the records it will publish.
type batch struct {
	p         *Profiler
	partition int
	profiles  map[string]*profile.Profile // by owner key; nil: absent or deleted
	dirty     map[string]bool
	links     map[string]string // anonymous identifier → user key; "": none
	linkDirty map[string]bool
	out       []kafka.Message
	encoded   map[string][]byte // JSON of changed profiles, by owner key
	err       error             // first store read error; fails the batch

	first   int64             // offset of the batch's first record
	seq     int               // triggers emitted so far, for their ids
	before  map[string]before // profiles as first loaded, by owner key
	timers  map[string]bool   // timer keys set (true) or cleared (false)
	sweepTo *string           // where the segment sweep resumes; nil: unchanged
	funnels map[string]*stats.Funnel
	rfms    map[string]*stats.RFM
	results map[string]*campaign.Result
	aggs    map[string][]byte // encoded changed aggregates, once finished
	cache   *partCache        // committed state of earlier batches
}

// encode returns the JSON of the changed profile owned by key, encoding it
// once however many places (snapshot, changelog, store) need it.
func (b *batch) encode(key string) []byte {
	if v, ok := b.encoded[key]; ok {
		return v
	}
	if b.encoded == nil {
		b.encoded = make(map[string][]byte, len(b.dirty))
	}
	v, err := b.profiles[key].AppendJSON(nil) // json.Marshal's bytes, 3x faster
	if err != nil {
		panic(fmt.Sprintf("profiler: encode profile %s: %v", key, err))
	}
	b.encoded[key] = v
	return v
}

func newBatch(p *Profiler, partition int) *batch {
	return &batch{
		p: p, partition: partition, cache: p.cache(partition),
		profiles: map[string]*profile.Profile{}, dirty: map[string]bool{},
		links: map[string]string{}, linkDirty: map[string]bool{},
		before: map[string]before{}, timers: map[string]bool{},
		funnels: map[string]*stats.Funnel{}, rfms: map[string]*stats.RFM{}, results: map[string]*campaign.Result{},
	}
}

// record dispatches one record of the hits topic by kind. A record whose
// processing panics is logged and skipped, so one poison record cannot
// stop its partition.
func (b *batch) record(m *kafka.Message) {
	defer func() {
		if r := recover(); r != nil {
			b.p.m.hits.WithLabelValues("panic").Inc()
			b.p.log.Error("record skipped: processing panicked", "partition", b.partition, "offset", m.Offset,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	kind, target := "", ""
	for _, h := range m.Headers {
		switch h.Key {
		case HeaderKind:
			kind = string(h.Value)
		case HeaderTarget:
			target = string(h.Value)
		}
	}
	switch kind {
	case "":
		b.hit(m)
	case KindForward:
		b.forwarded(m, target)
	case KindMerge:
		b.merge(m)
	case KindAbsorb:
		b.absorb(m)
	case KindTick:
		b.tick(m)
	case KindErase:
		b.erase(target)
	case KindEraseLink:
		b.eraseLink(string(m.Value), target)
	default:
		b.p.m.hits.WithLabelValues("invalid").Inc()
		b.p.log.Warn("record of unknown kind skipped", "kind", kind, "partition", b.partition, "offset", m.Offset)
	}
}

func (b *batch) decode(m *kafka.Message, v any) bool {
	return b.decoded(m, fastjson.Unmarshal(m.Value, v))
}

// decodeEvent decodes a hit, as the collector wrote it, with the event
// package's own decoder.
func (b *batch) decodeEvent(m *kafka.Message, e *event.Event) bool {
	return b.decoded(m, event.Unmarshal(m.Value, e))
}

func (b *batch) decoded(m *kafka.Message, err error) bool {
	if err != nil {
		b.p.m.hits.WithLabelValues("invalid").Inc()
		b.p.log.Warn("undecodable record skipped", "partition", b.partition, "offset", m.Offset, "err", err)
		return false
	}
	return true
}

func (b *batch) valid(id string) bool { return id != "" && identity.Valid(id, b.p.ignore) }

// rank orders identifiers by how surely they name a person: a user id over
// an email over an anonymous (device) id. A profile is owned by its
// highest-ranked identifier; lower ones are linked to it.
func rank(id string) int {
	switch {
	case strings.HasPrefix(id, identity.PrefixUser):
		return 3
	case strings.HasPrefix(id, identity.PrefixEmail):
		return 2
	case strings.HasPrefix(id, identity.PrefixAnonymous):
		return 1
	}
	return 0
}

// ids returns the identifiers a hit carries: its user id, email (a trait
// of identify, or context.traits), and anonymous id (the tag's, else the
// collector's cookie), each "" when absent or a placeholder.
func (b *batch) ids(e *event.Event) (user, email, anon string) {
	if b.valid(e.UserID) {
		user = identity.User(e.UserID)
	}
	raw, _ := e.Traits["email"].(string)
	if raw == "" {
		if t, ok := e.Context["traits"].(map[string]any); ok {
			raw, _ = t["email"].(string)
		}
	}
	if raw != "" {
		email, _ = identity.Email(raw)
	}
	switch {
	case b.valid(e.AnonymousID):
		anon = identity.Anonymous(e.AnonymousID)
	case b.valid(e.VisitorID):
		anon = identity.Anonymous(e.VisitorID)
	}
	return user, email, anon
}

// hit applies a hit from the collector to the profile of its
// highest-ranked identifier, and links the lower ones to that profile.
func (b *batch) hit(m *kafka.Message) {
	var e event.Event
	if !b.decodeEvent(m, &e) {
		return
	}
	if e.Bot && !b.p.cfg.KeepBots {
		b.p.m.hits.WithLabelValues("bot").Inc()
		return
	}
	user, email, anon := b.ids(&e)
	owner := cmp.Or(user, email, anon)
	if owner == "" {
		b.p.m.hits.WithLabelValues("invalid").Inc()
		return
	}
	if !bytes.Equal(m.Key, rawKey(owner)) {
		// Keyed by an id that is not the owner's (an email the collector
		// does not key by, a placeholder user id): send it where it belongs.
		b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(owner), Value: m.Value})
		return
	}
	b.p.m.hits.WithLabelValues("hit").Inc()
	if rank(owner) < 3 {
		if target := b.link(owner); target != "" {
			b.forward(m.Value, target)
			return
		}
	}
	prof := b.loadOrCreate(owner)
	for _, lower := range []string{email, anon} {
		if lower == "" || lower == owner {
			continue
		}
		// Every login re-links the device, so that it follows the newest
		// user; the merge is idempotent on the other side.
		if prof.AddID(lower) || e.Type == event.TypeIdentify {
			b.identity(lower, prof.ID)
			b.mergeInto(lower, owner)
			b.touch(owner)
		}
	}
	b.apply(owner, prof, &e)
}

// mergeInto asks the partition owning id to link it to target and hand its
// profile over.
func (b *batch) mergeInto(id, target string) {
	b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(id),
		Value:   mustJSON(mergeRecord{Anon: id, Target: target}),
		Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindMerge)}}})
}

// forward passes a hit on to the partition owning target.
func (b *batch) forward(value []byte, target string) {
	b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(target), Value: value,
		Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindForward)}, {Key: HeaderTarget, Value: []byte(target)}}})
}

// forwarded applies a hit passed on from a linked identifier, or passes it
// further when the target was itself linked on since (chains settle).
func (b *batch) forwarded(m *kafka.Message, target string) {
	var e event.Event
	if !b.decodeEvent(m, &e) {
		return
	}
	b.p.m.hits.WithLabelValues("forward").Inc()
	if rank(target) < 3 {
		if next := b.link(target); next != "" && next != target {
			b.forward(m.Value, next)
			return
		}
	}
	b.apply(target, b.loadOrCreate(target), &e)
}

func (b *batch) apply(key string, prof *profile.Profile, e *event.Event) {
	if !prof.Apply(e) {
		b.p.m.duplicates.Inc()
		return
	}
	b.touch(key)
}

// merge links an identifier owned here (anonymous or email) to a higher
// one and hands its profile, if any, over. The rules:
//   - not yet linked: link, and move the profile;
//   - linked to the same rank (a device of another user): a device follows
//     the newest login, an email stays with the first user;
//   - linked lower (a device linked to an email, now a user logs in): link
//     to the user and ask the email to merge into the user too;
//   - linked higher: keep (an email click never takes a user's device).
func (b *batch) merge(m *kafka.Message) {
	var r mergeRecord
	if !b.decode(m, &r) || rank(r.Anon) == 0 || rank(r.Target) <= rank(r.Anon) {
		return
	}
	b.p.m.hits.WithLabelValues("merge").Inc()
	prev := b.link(r.Anon)
	switch {
	case prev == r.Target:
		return
	case prev != "" && rank(prev) > rank(r.Target):
		return
	case prev != "" && rank(prev) == rank(r.Target) && rank(r.Anon) != 1:
		return
	}
	b.links[r.Anon] = r.Target
	b.linkDirty[r.Anon] = true
	b.identity(r.Anon, identity.ProfileID(r.Target))
	if prev != "" {
		if rank(prev) < rank(r.Target) {
			b.mergeInto(prev, r.Target)
		}
		return // the old owner keeps its past
	}
	prof := b.load(r.Anon)
	if prof == nil {
		return
	}
	b.profiles[r.Anon] = nil
	b.dirty[r.Anon] = true
	b.removed(prof)
	b.emit(kafka.Message{Topic: b.p.topics.Profiles, Key: []byte(prof.ID), Value: nil})
	b.emitAbsorb(r.Target, prof)
}

func (b *batch) emitAbsorb(target string, prof *profile.Profile) {
	b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(target),
		Value:   mustJSON(absorbRecord{Target: target, Profile: prof}),
		Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindAbsorb)}}})
}

// absorb folds a handed-over profile into the target's, or passes it on
// when the target was itself linked on since.
func (b *batch) absorb(m *kafka.Message) {
	var r absorbRecord
	if !b.decode(m, &r) || r.Profile == nil || rank(r.Target) == 0 {
		return
	}
	b.p.m.hits.WithLabelValues("absorb").Inc()
	if rank(r.Target) < 3 {
		if next := b.link(r.Target); next != "" && next != r.Target {
			b.emitAbsorb(next, r.Profile)
			return
		}
	}
	prof := b.loadOrCreate(r.Target)
	if !prof.Absorb(r.Profile) {
		return
	}
	b.absorbed(r.Target, r.Profile)
	for _, id := range r.Profile.IDs {
		b.identity(id, prof.ID)
	}
	b.touch(r.Target)
}

func (b *batch) identity(id, profileID string) {
	b.emit(kafka.Message{Topic: b.p.topics.Identities, Key: []byte(id), Value: []byte(profileID)})
}

func (b *batch) emit(m kafka.Message) { b.out = append(b.out, m) }

func (b *batch) touch(key string) { b.dirty[key] = true }

// load returns the profile owned by key, or nil.
func (b *batch) load(key string) *profile.Profile {
	if prof, ok := b.profiles[key]; ok {
		return prof
	}
	if prof, ok := b.cache.profiles[key]; ok {
		b.profiles[key] = prof
		b.remember(key, prof)
		return prof
	}
	var prof *profile.Profile
	v, err := b.p.db.Get(profileKey(b.partition, key))
	switch {
	case err == nil:
		prof = new(profile.Profile)
		if err := profile.Unmarshal(v, prof); err != nil {
			b.fail(fmt.Errorf("decode stored profile %s: %w", key, err))
			prof = nil
		}
	case !errors.Is(err, store.ErrNotFound):
		b.fail(err)
	}
	b.profiles[key] = prof
	b.remember(key, prof)
	return prof
}

func (b *batch) loadOrCreate(key string) *profile.Profile {
	if prof := b.load(key); prof != nil {
		return prof
	}
	prof := profile.New(identity.ProfileID(key), key)
	b.profiles[key] = prof
	b.identity(key, prof.ID)
	return prof
}

// link returns the user an anonymous identifier is linked to, or "".
func (b *batch) link(anon string) string {
	if u, ok := b.links[anon]; ok {
		return u
	}
	if u, ok := b.cache.links[anon]; ok {
		b.links[anon] = u
		return u
	}
	v, err := b.p.db.Get(linkKey(b.partition, anon))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		b.fail(err)
	}
	b.links[anon] = string(v)
	return string(v)
}

func (b *batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// outputs returns the records to publish: internal records and identities
// as they came, then one snapshot per changed profile.
func (b *batch) outputs() []kafka.Message {
	for id, v := range b.aggs {
		b.emit(kafka.Message{Topic: b.p.topics.Stats, Key: statsKey(id, b.partition), Value: v})
	}
	for key := range b.dirty {
		if prof := b.profiles[key]; prof != nil {
			b.emit(kafka.Message{Topic: b.p.topics.Profiles, Key: []byte(prof.ID), Value: b.encode(key)})
		}
	}
	return b.out
}

// changelog returns the state the batch changed, and the next input
// offset, as records keyed by their store key within the partition.
func (b *batch) changelog(next int64) []kafka.Message {
	out := make([]kafka.Message, 0, len(b.dirty)+len(b.linkDirty)+1)
	for key := range b.dirty {
		m := kafka.Message{Key: []byte("p/" + key)}
		if b.profiles[key] != nil {
			m.Value = b.encode(key)
		}
		out = append(out, m)
	}
	for anon := range b.linkDirty {
		m := kafka.Message{Key: []byte("l/" + anon)}
		if v := b.links[anon]; v != "" {
			m.Value = []byte(v)
		}
		out = append(out, m)
	}
	for rel, set := range b.timers {
		m := kafka.Message{Key: []byte(rel)}
		if set {
			m.Value = timerValue
		}
		out = append(out, m)
	}
	if b.sweepTo != nil {
		out = append(out, kafka.Message{Key: []byte("r"), Value: sweepValue(*b.sweepTo)})
	}
	for id, v := range b.aggs {
		out = append(out, kafka.Message{Key: []byte("a/" + id), Value: v})
	}
	return append(out, kafka.Message{Key: []byte("o"), Value: be64(next)})
}

// commit writes the changed state, the next input offset and the changelog
// position atomically.
func (b *batch) commit(next, clogNext int64) error {
	wb := b.p.db.NewBatch()
	for key := range b.dirty {
		if b.profiles[key] != nil {
			wb.Set(profileKey(b.partition, key), b.encode(key))
		} else {
			wb.Delete(profileKey(b.partition, key))
		}
	}
	for anon := range b.linkDirty {
		if v := b.links[anon]; v != "" {
			wb.Set(linkKey(b.partition, anon), []byte(v))
		} else {
			wb.Delete(linkKey(b.partition, anon))
		}
	}
	for rel, set := range b.timers {
		k := []byte(partPrefix(b.partition) + rel)
		if set {
			wb.Set(k, timerValue)
		} else {
			wb.Delete(k)
		}
	}
	if b.sweepTo != nil {
		wb.Set(sweepKey(b.partition), sweepValue(*b.sweepTo))
	}
	for id, v := range b.aggs {
		wb.Set([]byte(partPrefix(b.partition)+"a/"+id), v)
	}
	wb.Set(offsetKey(b.partition), be64(next))
	wb.Set(clogKey(b.partition), be64(clogNext))
	return wb.Commit()
}

// timerValue is a timer's stored value: never empty, so that it cannot be
// mistaken for a tombstone in the changelog.
var timerValue = []byte{1}

// sweepValue encodes the sweep cursor, never empty for the same reason.
func sweepValue(owner string) []byte { return []byte("=" + owner) }

// mustJSON encodes values whose encoding cannot fail (no channels, funcs or
// cyclic data).
func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("profiler: encode %T: %v", v, err))
	}
	return data
}
