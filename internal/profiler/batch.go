package profiler

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/store"
)

// mergeRecord asks the partition owning Anon to link it to Target.
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
	err       error // first store read error; fails the batch
}

func newBatch(p *Profiler, partition int) *batch {
	return &batch{
		p: p, partition: partition,
		profiles: map[string]*profile.Profile{}, dirty: map[string]bool{},
		links: map[string]string{}, linkDirty: map[string]bool{},
	}
}

// record dispatches one record of the hits topic by kind.
func (b *batch) record(m *kafka.Message) {
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
	default:
		b.p.m.hits.WithLabelValues("invalid").Inc()
		b.p.log.Warn("record of unknown kind skipped", "kind", kind, "partition", b.partition, "offset", m.Offset)
	}
}

func (b *batch) decode(m *kafka.Message, v any) bool {
	if err := json.Unmarshal(m.Value, v); err != nil {
		b.p.m.hits.WithLabelValues("invalid").Inc()
		b.p.log.Warn("undecodable record skipped", "partition", b.partition, "offset", m.Offset, "err", err)
		return false
	}
	return true
}

func (b *batch) valid(id string) bool { return id != "" && identity.Valid(id, b.p.ignore) }

// hit applies a hit from the collector.
func (b *batch) hit(m *kafka.Message) {
	var e event.Event
	if !b.decode(m, &e) {
		return
	}
	if e.Bot && !b.p.cfg.KeepBots {
		b.p.m.hits.WithLabelValues("bot").Inc()
		return
	}
	b.p.m.hits.WithLabelValues("hit").Inc()
	anon := e.AnonymousID
	if !b.valid(anon) {
		anon = e.VisitorID
	}
	switch {
	case b.valid(e.UserID):
		key := identity.User(e.UserID)
		if string(m.Key) != e.UserID {
			b.reroute(m, key) // keyed by someone else: send it where it belongs
			return
		}
		prof := b.loadOrCreate(key)
		if b.valid(anon) {
			aid := identity.Anonymous(anon)
			// Every login re-links the device, so that it follows the newest
			// user; the merge is idempotent on the anonymous side.
			if prof.AddID(aid) || e.Type == event.TypeIdentify {
				b.identity(aid, prof.ID)
				b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(aid),
					Value:   mustJSON(mergeRecord{Anon: aid, Target: key}),
					Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindMerge)}}})
				b.touch(key)
			}
		}
		b.apply(key, prof, &e)
	case b.valid(anon):
		aid := identity.Anonymous(anon)
		if string(m.Key) != anon {
			b.reroute(m, aid)
			return
		}
		if user := b.link(aid); user != "" {
			b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(user), Value: m.Value,
				Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindForward)}, {Key: HeaderTarget, Value: []byte(user)}}})
			return
		}
		b.apply(aid, b.loadOrCreate(aid), &e)
	default:
		b.p.m.hits.WithLabelValues("invalid").Inc()
	}
}

// reroute sends a hit that reached the wrong partition (its producer keyed
// it by an id that never identifies anyone) to the partition owning key.
func (b *batch) reroute(m *kafka.Message, key string) {
	b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(key), Value: m.Value})
}

// forwarded applies a hit an anonymous partition passed on to its user.
func (b *batch) forwarded(m *kafka.Message, target string) {
	var e event.Event
	if !b.decode(m, &e) {
		return
	}
	b.p.m.hits.WithLabelValues("forward").Inc()
	b.apply(target, b.loadOrCreate(target), &e)
}

func (b *batch) apply(key string, prof *profile.Profile, e *event.Event) {
	if !prof.Apply(e) {
		b.p.m.duplicates.Inc()
		return
	}
	if email, ok := e.Traits["email"].(string); ok {
		if eid, ok := identity.Email(email); ok && prof.AddID(eid) {
			b.identity(eid, prof.ID)
		}
	}
	b.touch(key)
}

// merge links an anonymous identifier owned here to a user and hands its
// profile, if any, over to the user's partition.
func (b *batch) merge(m *kafka.Message) {
	var r mergeRecord
	if !b.decode(m, &r) {
		return
	}
	b.p.m.hits.WithLabelValues("merge").Inc()
	prev := b.link(r.Anon)
	if prev == r.Target {
		return
	}
	b.links[r.Anon] = r.Target
	b.linkDirty[r.Anon] = true
	b.identity(r.Anon, identity.ProfileID(r.Target))
	if prev != "" {
		return // the device moves to the newest user; the old one keeps its past
	}
	prof := b.load(r.Anon)
	if prof == nil {
		return
	}
	b.profiles[r.Anon] = nil
	b.dirty[r.Anon] = true
	b.emit(kafka.Message{Topic: b.p.topics.Profiles, Key: []byte(prof.ID), Value: nil})
	b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(r.Target),
		Value:   mustJSON(absorbRecord{Target: r.Target, Profile: prof}),
		Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindAbsorb)}}})
}

// absorb folds a handed-over profile into the user's.
func (b *batch) absorb(m *kafka.Message) {
	var r absorbRecord
	if !b.decode(m, &r) || r.Profile == nil {
		return
	}
	b.p.m.hits.WithLabelValues("absorb").Inc()
	prof := b.loadOrCreate(r.Target)
	if !prof.Absorb(r.Profile) {
		return
	}
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
	var prof *profile.Profile
	v, err := b.p.db.Get(profileKey(b.partition, key))
	switch {
	case err == nil:
		prof = new(profile.Profile)
		if err := json.Unmarshal(v, prof); err != nil {
			b.fail(fmt.Errorf("decode stored profile %s: %w", key, err))
			prof = nil
		}
	case !errors.Is(err, store.ErrNotFound):
		b.fail(err)
	}
	b.profiles[key] = prof
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
	for key := range b.dirty {
		if prof := b.profiles[key]; prof != nil {
			b.emit(kafka.Message{Topic: b.p.topics.Profiles, Key: []byte(prof.ID), Value: mustJSON(prof)})
		}
	}
	return b.out
}

// commit writes the changed state and the next offset atomically.
func (b *batch) commit(next int64) error {
	wb := b.p.db.NewBatch()
	for key := range b.dirty {
		if prof := b.profiles[key]; prof != nil {
			wb.Set(profileKey(b.partition, key), mustJSON(prof))
		} else {
			wb.Delete(profileKey(b.partition, key))
		}
	}
	for anon := range b.linkDirty {
		wb.Set(linkKey(b.partition, anon), []byte(b.links[anon]))
	}
	var off [8]byte
	binary.BigEndian.PutUint64(off[:], uint64(next))
	wb.Set(offsetKey(b.partition), off[:])
	return wb.Commit()
}

// mustJSON encodes values whose encoding cannot fail (no channels, funcs or
// cyclic data).
func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("profiler: encode %T: %v", v, err))
	}
	return data
}
