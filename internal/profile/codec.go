package profile

import "github.com/ecrm/ecrm/internal/fastjson"

// Unmarshal decodes a profile snapshot as encoding/json would (the tests
// hold it to that), about three times faster: the profiler reads one back
// for every profile a batch touches that its cache does not hold, and
// personalize one for every read its hot set misses. Snapshots are still
// encoded with encoding/json, whose omitzero the faster encoder lacks.
func Unmarshal(data []byte, p *Profile) error { return fastjson.Unmarshal(data, p) }

// UnmarshalView decodes a profile snapshot as Unmarshal does, without the
// profiler's bookkeeping, which no reader of a view uses: Counted,
// Recent (message ids) and Merged are left empty. Those are a good part of
// a busy profile's snapshot (a few hundred message ids) and of the work
// and garbage of decoding it, which personalize pays on every read its hot
// set misses.
func UnmarshalView(data []byte, p *Profile) error {
	v := viewProfile{Profile: p}
	if err := fastjson.Unmarshal(data, &v); err != nil {
		return err
	}
	if v.Profile != p { // encoding/json's second try decoded into a new one
		*p = *v.Profile
	}
	return nil
}

// viewProfile is a Profile whose bookkeeping fields are shadowed by
// members of the same JSON names (the shallower field wins, as in
// encoding/json) that skip their values.
type viewProfile struct {
	*Profile
	Counted skipValue `json:"counted"`
	Recent  skipValue `json:"recent"`
	Merged  skipValue `json:"merged"`
}

// skipValue reads any JSON value and keeps nothing.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }
