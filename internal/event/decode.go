package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxBatchEvents is the most events one batch may carry.
const MaxBatchEvents = 500

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
	Context  map[string]any    `json:"context"`
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
	b := &Batch{WriteKey: env.WriteKey, SentAt: env.SentAt}
	for i, raw := range env.Batch {
		e, err := decodeOne(raw)
		if err != nil {
			b.Rejected = append(b.Rejected, Rejection{Index: i, Message: err.Error()})
			continue
		}
		if e.SentAt.IsZero() {
			e.SentAt = env.SentAt
		}
		for k, v := range env.Context {
			if e.Context == nil {
				e.Context = make(map[string]any, len(env.Context))
			}
			if _, ok := e.Context[k]; !ok {
				e.Context[k] = v
			}
		}
		b.Events = append(b.Events, e)
		b.Index = append(b.Index, i)
	}
	return b, nil
}

// DecodeSingle decodes the body of `POST /v1/{track,page,identify,alias}`.
// The type is taken from the path when the body does not name it.
func DecodeSingle(body []byte, typ string) (*Event, string, error) {
	var s single
	if err := unmarshal(body, &s); err != nil {
		return nil, "", err
	}
	e := &s.Event
	if e.Type == "" {
		e.Type = typ
	}
	if e.Type != typ {
		return nil, s.WriteKey, fmt.Errorf("%w: type %q does not match the endpoint %q", ErrInvalid, clip(e.Type), typ)
	}
	if len(body) > MaxEventBytes {
		return nil, s.WriteKey, fmt.Errorf("%w: event is larger than %d bytes", ErrInvalid, MaxEventBytes)
	}
	return e, s.WriteKey, e.Validate()
}

func decodeOne(raw json.RawMessage) (*Event, error) {
	if len(raw) > MaxEventBytes {
		return nil, fmt.Errorf("%w: event is larger than %d bytes", ErrInvalid, MaxEventBytes)
	}
	var e Event
	if err := unmarshal(raw, &e); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
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
			return fmt.Errorf("%w: field %s must be %s, not %s", ErrMalformed, te.Field, te.Type, te.Value)
		default:
			var pe *time.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("%w: a timestamp is not RFC 3339", ErrMalformed)
			}
			return fmt.Errorf("%w: invalid JSON", ErrMalformed)
		}
	}
	return nil
}
