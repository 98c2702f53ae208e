package profiler

import (
	"github.com/ecrm/ecrm/internal/kafka"
)

// EraseRecord returns the record that erases the profile owned by key (a
// profile's Key) from every store and topic: sent to the hits topic, it
// reaches the partition owning the profile, which deletes the profile, its
// timers' effects and its counts, tombstones it on the profiles, identities
// and changelog topics, and asks the partitions of its other identifiers to
// drop their links. Raw hits stay on the hits topic until its retention
// expires; they are never replayed into the profile (offsets only go
// forward).
func EraseRecord(topics kafka.Topics, key string) kafka.Message {
	return kafka.Message{Topic: topics.Hits, Key: rawKey(key), Value: []byte(key),
		Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindErase)}, {Key: HeaderTarget, Value: []byte(key)}}}
}

// erase deletes the profile owned by target.
func (b *batch) erase(target string) {
	prof := b.load(target)
	if prof == nil {
		return
	}
	b.p.m.hits.WithLabelValues("erase").Inc()
	b.removed(prof)
	b.profiles[target] = nil
	b.dirty[target] = true
	b.emit(kafka.Message{Topic: b.p.topics.Profiles, Key: []byte(prof.ID), Value: nil})
	b.emit(kafka.Message{Topic: b.p.topics.Identities, Key: []byte(target), Value: nil})
	for _, id := range prof.IDs {
		if id == target {
			continue
		}
		b.emit(kafka.Message{Topic: b.p.topics.Hits, Key: rawKey(id), Value: []byte(id),
			Headers: []kafka.Header{{Key: HeaderKind, Value: []byte(KindEraseLink)}, {Key: HeaderTarget, Value: []byte(target)}}})
	}
}

// eraseLink drops the link of identifier id to target, unless id has since
// been linked to someone else (a device that moved to another user).
func (b *batch) eraseLink(id, target string) {
	if b.link(id) != target {
		return
	}
	b.links[id] = ""
	b.linkDirty[id] = true
	b.emit(kafka.Message{Topic: b.p.topics.Identities, Key: []byte(id), Value: nil})
}
