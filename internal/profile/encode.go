package profile

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// AppendJSON appends the JSON encoding of p to dst: exactly the bytes of
// json.Marshal(p) (the tests and a fuzz target hold it to that), written
// without reflection, several times faster. The profiler encodes a whole
// profile for every hit it applies.
//
// It returns an error, and dst as it was, where json.Marshal fails: a NaN
// or infinite number, a time outside the years 0 to 9999.
func (p *Profile) AppendJSON(dst []byte) ([]byte, error) {
	n := len(dst)
	w := event.NewJSONWriter(dst)
	p.write(w)
	b, err := w.Bytes()
	if err != nil {
		return dst[:n], err
	}
	return b, nil
}

// Field names are written with the comma before them; the first field of
// an object has none.

func (p *Profile) write(w *event.JSONWriter) {
	w.Raw(`{"id":`)
	w.String(p.ID)
	w.Raw(`,"key":`)
	w.String(p.Key)
	w.Raw(`,"ids":`)
	strList(w, p.IDs)
	if len(p.Traits) > 0 {
		w.Raw(`,"traits":`)
		w.Value(p.Traits)
	}
	w.Raw(`,"events":`)
	w.Int(p.Events)
	w.Raw(`,"pageViews":`)
	w.Int(p.PageViews)
	w.Raw(`,"firstSeen":`)
	w.Time(p.FirstSeen)
	w.Raw(`,"lastSeen":`)
	w.Time(p.LastSeen)
	if p.FirstTouch != (Touch{}) {
		w.Raw(`,"firstTouch":`)
		p.FirstTouch.write(w)
	}
	if p.LastTouch != (Touch{}) {
		w.Raw(`,"lastTouch":`)
		p.LastTouch.write(w)
	}
	if p.Device != (Device{}) {
		w.Raw(`,"device":{`)
		comma := false
		comma = optString(w, comma, `"type":`, p.Device.Type)
		comma = optString(w, comma, `"browser":`, p.Device.Browser)
		optString(w, comma, `"os":`, p.Device.OS)
		w.Raw(`}`)
	}
	optString(w, true, `"locale":`, p.Locale)
	optString(w, true, `"siteId":`, p.SiteID)
	if p.Sessions.Count != 0 || p.Sessions.Recent != nil {
		w.Raw(`,"sessions":{"count":`)
		w.Int(p.Sessions.Count)
		if len(p.Sessions.Recent) > 0 {
			w.Raw(`,"recent":[`)
			for i, s := range p.Sessions.Recent {
				if i > 0 {
					w.Raw(`,`)
				}
				w.Raw(`{"start":`)
				w.Time(s.Start)
				w.Raw(`,"end":`)
				w.Time(s.End)
				w.Raw(`}`)
			}
			w.Raw(`]`)
		}
		w.Raw(`}`)
	}
	if p.ProductViews != 0 {
		w.Raw(`,"productViews":`)
		w.Int(p.ProductViews)
	}
	if !p.ProductInterest.zero() {
		w.Raw(`,"productInterest":`)
		p.ProductInterest.write(w)
	}
	if !p.CategoryInterest.zero() {
		w.Raw(`,"categoryInterest":`)
		p.CategoryInterest.write(w)
	}
	if len(p.RecentItems) > 0 {
		w.Raw(`,"recentItems":[`)
		for i, it := range p.RecentItems {
			if i > 0 {
				w.Raw(`,`)
			}
			w.Raw(`{"id":`)
			w.String(it.ID)
			w.Raw(`,"at":`)
			w.Time(it.At)
			w.Raw(`}`)
		}
		w.Raw(`]`)
	}
	if !p.Cart.zero() {
		w.Raw(`,"cart":`)
		p.Cart.write(w)
	}
	if !p.Orders.zero() {
		w.Raw(`,"orders":`)
		p.Orders.write(w)
	}
	optString(w, true, `"funnel":`, p.Funnel)
	if len(p.Segments) > 0 {
		w.Raw(`,"segments":`)
		strList(w, p.Segments)
	}
	if len(p.Campaigns) > 0 {
		w.Raw(`,"campaigns":{`)
		for i, id := range slices.Sorted(maps.Keys(p.Campaigns)) {
			if i > 0 {
				w.Raw(`,`)
			}
			w.String(id)
			w.Raw(`:`)
			p.Campaigns[id].write(w)
		}
		w.Raw(`}`)
	}
	if len(p.Counted) > 0 {
		w.Raw(`,"counted":{`)
		for i, k := range slices.Sorted(maps.Keys(p.Counted)) {
			if i > 0 {
				w.Raw(`,`)
			}
			w.String(k)
			w.Raw(`:`)
			w.String(p.Counted[k])
		}
		w.Raw(`}`)
	}
	w.Raw(`,"version":`)
	w.Int(p.Version)
	if len(p.Recent) > 0 {
		w.Raw(`,"recent":`)
		strList(w, p.Recent)
	}
	if len(p.Merged) > 0 {
		w.Raw(`,"merged":`)
		strList(w, p.Merged)
	}
	w.Raw(`}`)
}

// strList writes a []string, nil as null.
func strList(w *event.JSONWriter, s []string) {
	if s == nil {
		w.Raw(`null`)
		return
	}
	w.Raw(`[`)
	for i, x := range s {
		if i > 0 {
			w.Raw(`,`)
		}
		w.String(x)
	}
	w.Raw(`]`)
}

// optString writes an omitempty string field, with a comma first when
// comma is set; it returns whether the next field needs one.
func optString(w *event.JSONWriter, comma bool, name, s string) bool {
	if s == "" {
		return comma
	}
	if comma {
		w.Raw(`,`)
	}
	w.Raw(name)
	w.String(s)
	return true
}

// optTime writes an omitzero time field (time.Time's IsZero decides).
func optTime(w *event.JSONWriter, comma bool, name string, t time.Time) bool {
	if t.IsZero() {
		return comma
	}
	if comma {
		w.Raw(`,`)
	}
	w.Raw(name)
	w.Time(t)
	return true
}

func (t *Touch) write(w *event.JSONWriter) {
	w.Raw(`{`)
	comma := optTime(w, false, `"at":`, t.At)
	comma = optString(w, comma, `"source":`, t.Source)
	comma = optString(w, comma, `"medium":`, t.Medium)
	comma = optString(w, comma, `"campaign":`, t.Campaign)
	comma = optString(w, comma, `"referrer":`, t.Referrer)
	optString(w, comma, `"channel":`, t.Channel)
	w.Raw(`}`)
}

// zero reports what omitzero sees as zero in a struct without an IsZero
// method: every field the zero value (-0 counts as 0, as reflect has it).
func (in *Interests) zero() bool { return in.AsOf == (time.Time{}) && in.Scores == nil }

// write writes what MarshalJSON does: scores to 6 significant digits.
func (in *Interests) write(w *event.JSONWriter) {
	w.Raw(`{`)
	comma := optTime(w, false, `"asOf":`, in.AsOf)
	if len(in.Scores) > 0 {
		if comma {
			w.Raw(`,`)
		}
		w.Raw(`"scores":{`)
		var num [32]byte
		keys := make([]string, 0, 64)
		for k := range in.Scores {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				w.Raw(`,`)
			}
			w.String(k)
			w.Raw(`:`)
			s := in.Scores[k]
			if math.IsNaN(s) || math.IsInf(s, 0) {
				w.Float(s) // the error json.Marshal gives an invalid number
				continue
			}
			w.RawBytes(strconv.AppendFloat(num[:0], s, 'g', 6, 64))
		}
		w.Raw(`}`)
	}
	w.Raw(`}`)
}

func (c *Cart) zero() bool {
	return c.Lines == nil && c.Value == 0 && c.UpdatedAt == (time.Time{}) && c.CheckoutAt == (time.Time{})
}

func (c *Cart) write(w *event.JSONWriter) {
	w.Raw(`{`)
	comma := false
	if len(c.Lines) > 0 {
		w.Raw(`"lines":[`)
		for i := range c.Lines {
			l := &c.Lines[i]
			if i > 0 {
				w.Raw(`,`)
			}
			w.Raw(`{"productId":`)
			w.String(l.ProductID)
			optString(w, true, `"name":`, l.Name)
			optString(w, true, `"category":`, l.Category)
			if l.Price != 0 {
				w.Raw(`,"price":`)
				w.Float(l.Price)
			}
			w.Raw(`,"quantity":`)
			w.Int(int64(l.Quantity))
			w.Raw(`}`)
		}
		w.Raw(`]`)
		comma = true
	}
	if c.Value != 0 {
		if comma {
			w.Raw(`,`)
		}
		w.Raw(`"value":`)
		w.Float(c.Value)
		comma = true
	}
	comma = optTime(w, comma, `"updatedAt":`, c.UpdatedAt)
	optTime(w, comma, `"checkoutAt":`, c.CheckoutAt)
	w.Raw(`}`)
}

func (o *Orders) zero() bool {
	return o.Count == 0 && o.Revenue == 0 && o.Currency == "" && o.First == (time.Time{}) &&
		o.Last == (time.Time{}) && o.Recent == nil && o.Bought == nil && o.ReactivatedAt == (time.Time{})
}

func (o *Orders) write(w *event.JSONWriter) {
	w.Raw(`{"count":`)
	w.Int(o.Count)
	w.Raw(`,"revenue":`)
	w.Float(o.Revenue)
	optString(w, true, `"currency":`, o.Currency)
	optTime(w, true, `"first":`, o.First)
	optTime(w, true, `"last":`, o.Last)
	if len(o.Recent) > 0 {
		w.Raw(`,"recent":[`)
		for i, r := range o.Recent {
			if i > 0 {
				w.Raw(`,`)
			}
			w.Raw(`{`)
			if optString(w, false, `"id":`, r.ID) {
				w.Raw(`,`)
			}
			w.Raw(`"at":`)
			w.Time(r.At)
			w.Raw(`,"revenue":`)
			w.Float(r.Revenue)
			w.Raw(`}`)
		}
		w.Raw(`]`)
	}
	if len(o.Bought) > 0 {
		w.Raw(`,"bought":`)
		strList(w, o.Bought)
	}
	optTime(w, true, `"reactivatedAt":`, o.ReactivatedAt)
	w.Raw(`}`)
}

func (x *Exposure) write(w *event.JSONWriter) {
	if x == nil {
		w.Raw(`null`)
		return
	}
	w.Raw(`{"group":`)
	w.String(x.Group)
	w.Raw(`,"first":`)
	w.Time(x.First)
	w.Raw(`,"last":`)
	w.Time(x.Last)
	w.Raw(`,"count":`)
	w.Int(int64(x.Count))
	if x.Converted {
		w.Raw(`,"converted":true`)
	}
	if x.Orders != 0 {
		w.Raw(`,"orders":`)
		w.Int(x.Orders)
	}
	if x.Revenue != 0 {
		w.Raw(`,"revenue":`)
		w.Float(x.Revenue)
	}
	w.Raw(`}`)
}
