package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// MaxBatchEvents is the most events one batch may carry.
const MaxBatchEvents = 500

// MaxBatchContextBytes bounds a batch-level context, which is copied into
// every event of the batch.
const MaxBatchContextBytes = 8 << 10

// ErrMalformed is returned (wrapped) when a body is not the JSON it should be.
var ErrMalformed = errors.New("malformed body")

// Batch is a decoded request body: the write key it carried, the events that
// decoded and validated, and the ones rejected with their index and reason.
type Batch struct {
	WriteKey string
	SentAt   time.Time
	Events   []*Event
	// Index holds, for each accepted event, its position in the request.
	Index    []int
	Rejected []Rejection

	// Of a batch of DecodeBatchRaw (pooled): the array its events are in,
	// and arrays for Events and Index, reused once the batch is released.
	events      []Event
	spareEvents []*Event
	spareIndex  []int
	pooled      bool
}

// Rejection names an event of a batch that was not accepted and why.
type Rejection struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

// envelope is the outer shape of a batch request.
type envelope struct {
	WriteKey string            `json:"writeKey"`
	SentAt   time.Time         `json:"sentAt"`
	Batch    []json.RawMessage `json:"batch"`
	Context  json.RawMessage   `json:"context"`
}

// single carries the write key that a single-event request may hold.
type single struct {
	WriteKey string `json:"writeKey"`
	Event
}

// DecodeBatch decodes a `POST /v1/batch` body. A body that is not a JSON
// object with a `batch` array is an error wrapping ErrMalformed; events that
// fail to decode or validate are listed in Rejected and the rest kept.
// The batch's context, when present, fills keys missing from each event's.
func DecodeBatch(body []byte) (*Batch, error) {
	if b, ok := decodeBatchFast(body); ok {
		return b, nil
	}
	return decodeBatchSlow(body)
}

// decodeBatchSlow is DecodeBatch with encoding/json, for any body.
func decodeBatchSlow(body []byte) (*Batch, error) {
	if len(body) <= MaxEventBytes {
		// No event of a body this small can be too large, so decode it in
		// one pass; a body with a malformed event takes the slower path,
		// event by event, that says which.
		var fast struct {
			WriteKey string          `json:"writeKey"`
			SentAt   time.Time       `json:"sentAt"`
			Batch    []Event         `json:"batch"`
			Context  json.RawMessage `json:"context"`
		}
		if unmarshal(body, &fast) == nil && fast.Batch != nil {
			bctx, err := batchContext(fast.Context)
			if err != nil {
				return nil, err
			}
			if len(fast.Batch) > MaxBatchEvents {
				return nil, fmt.Errorf("%w: batch holds %d events, the limit is %d", ErrMalformed, len(fast.Batch), MaxBatchEvents)
			}
			b := &Batch{WriteKey: fast.WriteKey, SentAt: fast.SentAt}
			for i := range fast.Batch {
				b.add(i, &fast.Batch[i], fast.Batch[i].prepare(bctx))
			}
			return b, nil
		}
	}
	var env envelope
	if err := unmarshal(body, &env); err != nil {
		return nil, err
	}
	if env.Batch == nil {
		return nil, fmt.Errorf("%w: body has no batch array", ErrMalformed)
	}
	if len(env.Batch) > MaxBatchEvents {
		return nil, fmt.Errorf("%w: batch holds %d events, the limit is %d", ErrMalformed, len(env.Batch), MaxBatchEvents)
	}
	bctx, err := batchContext(env.Context)
	if err != nil {
		return nil, err
	}
	b := &Batch{WriteKey: env.WriteKey, SentAt: env.SentAt}
	for i, raw := range env.Batch {
		e, err := decodeOne(raw, bctx)
		b.add(i, e, err)
	}
	return b, nil
}

// add records the event at index i of the request as accepted, or as
// rejected when err is not nil.
func (b *Batch) add(i int, e *Event, err error) {
	if err != nil {
		b.Rejected = append(b.Rejected, Rejection{Index: i, Message: err.Error()})
		return
	}
	if e.SentAt.IsZero() {
		e.SentAt = b.SentAt
	}
	b.Events = append(b.Events, e)
	b.Index = append(b.Index, i)
}

// batchContext decodes and checks a batch-level context.
func batchContext(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > MaxBatchContextBytes {
		return nil, fmt.Errorf("%w: batch context is larger than %d bytes", ErrMalformed, MaxBatchContextBytes)
	}
	var bctx map[string]any
	if err := unmarshal(raw, &bctx); err != nil {
		return nil, fmt.Errorf("%w: batch context must be a JSON object", ErrMalformed)
	}
	if err := checkValue(bctx, 1); err != nil {
		return nil, fmt.Errorf("%w: batch context %v", ErrMalformed, err)
	}
	return bctx, nil
}

// DecodeSingle decodes the body of `POST /v1/{track,page,identify,alias}`.
// The type is taken from the path when the body does not name it.
func DecodeSingle(body []byte, typ string) (*Event, string, error) {
	var s single
	if err := unmarshal(body, &s); err != nil {
		return nil, "", err
	}
	e := &s.Event
	if err := e.prepareSingle(len(body), typ); err != nil {
		return nil, s.WriteKey, err
	}
	return e, s.WriteKey, nil
}

// prepareSingle readies the decoded event of a single-event body of n
// bytes: it drops what only the collector may set, takes the type from the
// endpoint when the event names none, and validates it.
func (e *Event) prepareSingle(n int, typ string) error {
	e.clearServerFields()
	if e.Type == "" {
		e.Type = typ
	}
	if e.Type != typ {
		return fmt.Errorf("%w: type %q does not match the endpoint %q", ErrInvalid, clip(e.Type), typ)
	}
	if n > MaxEventBytes {
		return fmt.Errorf("%w: event is larger than %d bytes", ErrInvalid, MaxEventBytes)
	}
	return e.Validate()
}

// decodeOne decodes and validates one event of a batch, filling context
// keys it lacks from the batch's context bctx.
func decodeOne(raw json.RawMessage, bctx map[string]any) (*Event, error) {
	if len(raw) > MaxEventBytes {
		return nil, fmt.Errorf("%w: event is larger than %d bytes", ErrInvalid, MaxEventBytes)
	}
	var e Event
	if err := unmarshal(raw, &e); err != nil {
		return nil, err
	}
	if err := e.prepare(bctx); err != nil {
		return nil, err
	}
	return &e, nil
}

// prepare readies a decoded event of a batch: it drops what only the
// collector may set, fills context keys it lacks from the batch's context
// bctx, and validates it.
func (e *Event) prepare(bctx map[string]any) error {
	e.clearServerFields()
	if len(bctx) > 0 {
		e.ContextMap()
	}
	for k, v := range bctx {
		if e.Context == nil {
			e.Context = make(map[string]any, len(bctx))
		}
		if _, ok := e.Context[k]; !ok {
			e.Context[k] = v
		}
	}
	return e.Validate()
}

// unmarshal decodes JSON and turns decoder errors into ErrMalformed ones
// with a message fit for a client.
func unmarshal(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("%w: body is empty", ErrMalformed)
	}
	if data[0] != '{' {
		return fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	if err := json.Unmarshal(data, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("%w: invalid JSON at byte %d", ErrMalformed, se.Offset)
		case errors.As(err, &te):
			field := strings.TrimPrefix(te.Field, "Event.")
			if field == "" {
				field = "value"
			}
			if strings.HasPrefix(te.Value, "number ") && kindOf(te.Type) == "a number" {
				return fmt.Errorf("%w: field %s holds a number out of range", ErrMalformed, field)
			}
			if te.Type == reflect.TypeFor[time.Time]() {
				return fmt.Errorf("%w: field %s must be an RFC 3339 string", ErrMalformed, field)
			}
			return fmt.Errorf("%w: field %s must be %s, not %s", ErrMalformed, field, kindOf(te.Type), jsonValueKind(te.Value))
		default:
			var pe *time.ParseError
			if errors.As(err, &pe) || strings.Contains(err.Error(), "Time.UnmarshalJSON") {
				return fmt.Errorf("%w: a timestamp is not an RFC 3339 string", ErrMalformed)
			}
			return fmt.Errorf("%w: invalid JSON", ErrMalformed)
		}
	}
	return nil
}

// kindOf names the JSON kind a Go type decodes from, for a client message.
func kindOf(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 string"
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeFor[json.RawMessage]() {
			return "a value"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// jsonValueKind names the kind of JSON value a decoder reported.
func jsonValueKind(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "a number"
	case v == "string":
		return "a string"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	case v == "bool":
		return "true or false"
	}
	return "that"
}
