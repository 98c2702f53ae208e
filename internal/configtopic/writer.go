package configtopic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/ecrm/ecrm/internal/kafka"
)

// Publisher writes records to Kafka and returns once they are acknowledged.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// Registry is a replica's copy of one kind of definition.
type Registry[T any] interface {
	Put(v T) error
	Delete(id string) bool
}

// Apply returns the Handler that keeps reg in step with a kind's records:
// a definition is decoded from its JSON and put, a tombstone deleted.
func Apply[T any](reg Registry[T]) Handler {
	return func(id string, value []byte) error {
		if value == nil {
			reg.Delete(id)
			return nil
		}
		var v T
		if err := json.Unmarshal(value, &v); err != nil {
			return err
		}
		return reg.Put(v)
	}
}

// ErrNotFound is returned by Writer.Delete for a definition that does not
// exist.
var ErrNotFound = errors.New("configtopic: no such definition")

// ErrPublish wraps the error of a change Kafka did not acknowledge: nothing
// changed, and the change may be retried.
var ErrPublish = errors.New("configtopic: not stored")

// Writer is the admin side of one kind of definition on the config topic:
// a change is published and, once Kafka acknowledged it, applied to the
// local registry, so that this replica sees it at once and every other
// replica's Watcher soon after. Changes are made one at a time, so that a
// check of the registry (an id or a key already taken) holds until the
// change is stored.
type Writer[T any] struct {
	mu    sync.Mutex
	kind  string
	topic string
	pub   Publisher
	reg   Registry[T]
}

// NewWriter returns the writer of kind's definitions to topic; pub must
// wait for acknowledgements.
func NewWriter[T any](kind, topic string, pub Publisher, reg Registry[T]) *Writer[T] {
	return &Writer[T]{kind: kind, topic: topic, pub: pub, reg: reg}
}

// Put stores v as the definition id. check, when not nil, runs first, under
// the writer's lock, and its error refuses the change. A publish failure is
// wrapped in ErrPublish; an error of the registry's Put is returned as it
// is, but the record was stored: every replica will refuse it too (and log
// it), so check, or the caller before, must refuse what the registry
// would.
func (w *Writer[T]) Put(ctx context.Context, id string, v T, check func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	value, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := w.pub.Publish(ctx, kafka.Message{Topic: w.topic, Key: Key(w.kind, id), Value: value}); err != nil {
		return fmt.Errorf("%w: %w", ErrPublish, err)
	}
	return w.reg.Put(v)
}

// Delete removes the definition id everywhere: ErrNotFound when exists
// says there is none, a publish failure wrapped in ErrPublish.
func (w *Writer[T]) Delete(ctx context.Context, id string, exists func(id string) bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !exists(id) {
		return ErrNotFound
	}
	if err := w.pub.Publish(ctx, kafka.Message{Topic: w.topic, Key: Key(w.kind, id)}); err != nil {
		return fmt.Errorf("%w: %w", ErrPublish, err)
	}
	w.reg.Delete(id)
	return nil
}
