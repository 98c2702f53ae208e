// Package spool is a local, append-only, crash-safe queue of Kafka records on
// disk. The collector writes hits to it when Kafka is down or slow and replays
// them, in order, when Kafka is back; only when the spool is full does the
// collector answer 503.
//
// # Use
//
// Open a Spool on a directory that no other Spool uses, Append records from
// any number of goroutines, and drain it from one goroutine:
//
//	for {
//		recs, cur, err := sp.Peek(500)
//		if err != nil { ... }
//		if len(recs) == 0 {
//			select {
//			case <-sp.Notify():
//			case <-ctx.Done():
//				return
//			}
//			continue
//		}
//		if err := produce(ctx, recs); err != nil { ... retry, Kafka is still down ... }
//		if err := sp.Ack(cur); err != nil { ... }
//	}
//
// # Delivery
//
// Records come out in the order their Appends wrote them: a batch stays
// together and in order, and so do the records of any one goroutine. Kafka
// keeps order per key only if a key's newer hits do not overtake the spooled
// ones, so while the spool is not empty (Len > 0) the producer appends new
// records to it rather than sending them to Kafka directly.
//
// Delivery is at least once. Peek does not remove records; Ack moves the
// persisted read cursor past them. A crash after the records reached Kafka
// but before Ack returned replays them after the restart, and a lost or
// corrupt cursor file replays every record still on disk. Consumers of
// ecrm.hits therefore de-duplicate by the event's messageId, as they do for
// client retries anyway.
//
// # Durability
//
// Options.Sync says when appended records reach stable storage:
//
//   - SyncAlways: Append returns only after the records are fsynced.
//     Concurrent Appends share one fsync (group commit). A record whose Append
//     returned nil survives a crash of the process or of the machine.
//   - SyncInterval (the default): a background goroutine fsyncs every
//     Options.SyncInterval (100ms by default). A crash of the process loses
//     nothing; a crash of the machine (power loss, kernel panic) may lose the
//     records appended during the last interval before it.
//   - SyncNever: the spool leaves write-back of the segment being appended
//     to the operating system. A crash of the process loses nothing; a crash
//     of the machine may lose any records the kernel had not yet written back
//     (on Linux, typically up to about 30 seconds' worth).
//
// Under every policy, a segment is fsynced when it is full and the next one
// begins, a new segment file's directory entry is fsynced when it is created,
// and Close fsyncs everything.
//
// Whatever the policy, a crash never corrupts records that were durable: a
// torn or corrupt tail is detected by its CRC and cut off when the spool is
// opened again. A Spool that failed to write or fsync refuses further Appends
// with the error, because it can no longer tell what is on disk; open it
// again to recover.
//
// # Layout
//
// The directory holds numbered segment files (00000000000000000001.seg, ...)
// and a cursor file. A segment is a sequence of frames: a 4-byte big-endian
// payload length, a 4-byte big-endian CRC-32C (Castagnoli) of the length and
// the payload, and the payload, a versioned binary encoding of a Record.
// Appends go to the last segment; a new segment starts when the next Append
// would take the last one past Options.SegmentBytes. The cursor file holds
// the segment id and offset of the next record to deliver, and is replaced
// atomically (write a temporary file, fsync it, rename it over the old one,
// fsync the directory). Segments that are entirely behind the cursor are
// deleted. A LOCK file, held with flock(2) where the platform has it, keeps
// a second Spool, in this process or another, off the directory.
package spool
