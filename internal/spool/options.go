package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the zero fields of Options.
const (
	// DefaultMaxBytes is the default bound on the bytes pending in a Spool.
	DefaultMaxBytes int64 = 1 << 30 // 1 GiB
	// DefaultSegmentBytes is the default size at which a new segment file starts.
	DefaultSegmentBytes int64 = 64 << 20 // 64 MiB
	// DefaultSyncInterval is the default period of the background fsync under
	// SyncInterval.
	DefaultSyncInterval = 100 * time.Millisecond
)

// SyncPolicy says when a Spool fsyncs appended records to stable storage. The
// package documentation describes what each policy may lose in a crash.
type SyncPolicy int

const (
	// SyncInterval fsyncs in the background every Options.SyncInterval. A
	// crash of the machine may lose the records appended during the last
	// interval; a crash of the process alone loses nothing. It is the zero
	// value, and so the default.
	SyncInterval SyncPolicy = iota
	// SyncAlways fsyncs before Append returns. Concurrent Appends share an
	// fsync.
	SyncAlways
	// SyncNever leaves write-back of the segment being appended to the
	// operating system; a full segment is still fsynced when the next one
	// begins, and Close fsyncs.
	SyncNever
)

// String returns the policy's name: "interval", "always" or "never".
func (p SyncPolicy) String() string {
	switch p {
	case SyncInterval:
		return "interval"
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Options configures a Spool. The zero value for Options is a valid
// configuration: 1 GiB pending at most, 64 MiB segments, and an fsync every
// 100ms.
type Options struct {
	// MaxBytes bounds the bytes pending (appended and not yet acknowledged),
	// counted as they are framed on disk: the encoded record plus 8 bytes.
	// Append returns ErrFull rather than go past it. Files on disk can
	// exceed it by up to one segment, because a segment is deleted only once
	// all of its records are acknowledged. Records found pending at Open
	// are kept even beyond the bound (Append refuses until they drain).
	// Zero means DefaultMaxBytes (1 GiB).
	MaxBytes int64

	// SegmentBytes is the size past which Append starts a new segment file.
	// A batch of records always goes into a single segment, so a segment can
	// exceed it by up to one batch. Zero means DefaultSegmentBytes (64 MiB).
	SegmentBytes int64

	// Sync is the fsync policy. The zero value is SyncInterval.
	Sync SyncPolicy

	// SyncInterval is the period of the background fsync under the
	// SyncInterval policy; other policies ignore it. Zero means
	// DefaultSyncInterval (100ms).
	SyncInterval time.Duration

	// Logger receives warnings about data dropped during recovery (a torn or
	// corrupt tail, an unreadable cursor file) and background fsync failures.
	// Nil means no logging.
	Logger *slog.Logger
}

// Validate reports whether the options are usable. Zero fields are valid;
// they take their defaults.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("spool: MaxBytes is %d, want 0 (default) or more", o.MaxBytes))
	}
	if o.SegmentBytes < 0 {
		errs = append(errs, fmt.Errorf("spool: SegmentBytes is %d, want 0 (default) or more", o.SegmentBytes))
	}
	switch o.Sync {
	case SyncInterval, SyncAlways, SyncNever:
	default:
		errs = append(errs, fmt.Errorf("spool: unknown Sync policy %d", int(o.Sync)))
	}
	if o.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("spool: SyncInterval is %v, want 0 (default) or more", o.SyncInterval))
	}
	return errors.Join(errs...)
}

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
