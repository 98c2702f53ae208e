package simulate

import (
	"encoding/json"
	"fmt"
	"time"
)

// AppendBody appends the JSON body of a `POST /v1/batch` request for b,
// sent at sentAt with writeKey, and returns it.
//
// The events keep their age: each timestamp moves by sentAt − b.Now, and
// every event and the batch carry sentAt. The collector trusts the delay
// between timestamp and sentAt and not the client's clock, so an event
// made 20 days before the generator's Now is stored as 20 days old.
func (b *Batch) AppendBody(dst []byte, writeKey string, sentAt time.Time) ([]byte, error) {
	sentAt = sentAt.UTC().Truncate(time.Millisecond)
	shift := sentAt.Sub(b.Now)
	key, err := json.Marshal(writeKey)
	if err != nil {
		return dst, fmt.Errorf("encode write key: %w", err)
	}
	dst = append(dst, `{"writeKey":`...)
	dst = append(dst, key...)
	dst = append(dst, `,"sentAt":"`...)
	dst = sentAt.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","batch":[`...)
	for i, e := range b.Events {
		if i > 0 {
			dst = append(dst, ',')
		}
		c := *e
		c.Timestamp = e.Timestamp.Add(shift)
		c.SentAt = sentAt
		if dst, err = c.AppendJSON(dst); err != nil {
			return dst, fmt.Errorf("encode event %d: %w", i, err)
		}
	}
	return append(dst, "]}"...), nil
}
