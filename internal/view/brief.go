package view

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ecrm/ecrm/internal/fastjson"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/store"
)

// A Brief is what a page's recommendation request needs of a visitor's
// profile: the products they viewed lately, their cart and what they
// bought. The view holds one for every profile in memory (see View.Brief),
// so that a page is answered without reading the store or decoding a
// profile, whoever the visitor is; the full profile stays in the store and
// its hot set in the cache.
//
// A Brief is read-only and cheap to copy. Its strings are shared: they stay
// valid, and never change, for as long as they are held.
type Brief struct{ raw string }

// Recent appends to dst the ids of the products viewed lately, most recent
// first (as profile.Profile.RecentProductIDs).
func (b Brief) Recent(dst []string) []string { return b.list(0, dst) }

// Cart appends to dst the product ids of the cart's lines, in order.
func (b Brief) Cart(dst []string) []string { return b.list(1, dst) }

// Bought appends to dst the ids of the products bought, least recently
// bought first (as profile.Orders.Bought).
func (b Brief) Bought(dst []string) []string { return b.list(2, dst) }

// list appends the strings of list k of the encoding.
func (b Brief) list(k int, dst []string) []string {
	r := b.raw
	for i := 0; i <= k && len(r) > 0; i++ {
		n, rest := uvarintString(r)
		r = rest
		for range n {
			l, rest := uvarintString(r)
			if i == k {
				dst = append(dst, rest[:l])
			}
			r = rest[l:]
		}
	}
	return dst
}

// uvarintString reads a uvarint at the start of s.
func uvarintString(s string) (int, string) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			return int(x | uint64(c)<<shift), s[i+1:]
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, ""
}

// appendBrief appends the encoding of a brief: three lists (recent, cart,
// bought), each uvarint(count) then uvarint(len(id)) id for each id.
func appendBrief(dst []byte, recent, cart, bought []string) []byte {
	for _, l := range [...][]string{recent, cart, bought} {
		dst = binary.AppendUvarint(dst, uint64(len(l)))
		for _, s := range l {
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
	}
	return dst
}

// AppendBrief appends the stored form of p's brief to dst: what the view
// keeps under "b/<profile id>" beside the profile's snapshot under
// "p/<profile id>". Whoever writes a view's store directly (the
// personalize benchmark fills one) writes both.
func AppendBrief(dst []byte, p *profile.Profile) []byte {
	recent := p.RecentProductIDs()
	cart := make([]string, len(p.Cart.Lines))
	for i, l := range p.Cart.Lines {
		cart[i] = l.ProductID
	}
	return appendBrief(dst, recent, cart, p.Orders.Bought)
}

// briefFields are the fields of a profile snapshot a brief is made of.
type briefFields struct {
	RecentItems []struct {
		ID string `json:"id"`
	} `json:"recentItems"`
	Cart struct {
		Lines []struct {
			ProductID string `json:"productId"`
		} `json:"lines"`
	} `json:"cart"`
	Orders struct {
		Bought []string `json:"bought"`
	} `json:"orders"`
}

// briefOf returns the stored form of the brief of a profile snapshot (the
// JSON of profile.Profile), decoding only the fields a brief needs.
func briefOf(dst, snapshot []byte) ([]byte, error) {
	var f briefFields
	if err := fastjson.Unmarshal(snapshot, &f); err != nil {
		return dst, err
	}
	recent := make([]string, len(f.RecentItems))
	for i, it := range f.RecentItems {
		recent[i] = it.ID
	}
	cart := make([]string, len(f.Cart.Lines))
	for i, l := range f.Cart.Lines {
		cart[i] = l.ProductID
	}
	return appendBrief(dst, recent, cart, f.Orders.Bought), nil
}

// Store layout of the briefs.
const (
	briefPrefix = "b/"
	// briefsKey marks a store whose every profile has its brief: a store
	// written before briefs existed gets them once, at open.
	briefsKey = "v/briefs"
)

// MarkBriefs records in db that every profile under "p/" has its brief
// under "b/" (AppendBrief), as a view's tailer keeps them. Whoever fills a
// view's store directly calls it once done.
func MarkBriefs(db *store.DB) error {
	b := db.NewBatch()
	b.Set([]byte(briefsKey), []byte{1})
	return b.Commit()
}

// load fills the view's in-memory tables from its store: every identifier
// and every brief. A store without briefs (written before they existed)
// first gets them from its profiles.
func (v *View) load() error {
	if _, err := v.db.Get([]byte(briefsKey)); errors.Is(err, store.ErrNotFound) {
		if err := v.writeBriefs(); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := v.db.Scan([]byte("i/"), func(k, val []byte) bool {
		v.idx.set(string(k[len("i/"):]), string(val))
		return true
	}); err != nil {
		return fmt.Errorf("load identities: %w", err)
	}
	if err := v.db.Scan([]byte(briefPrefix), func(k, val []byte) bool {
		v.briefs.set(string(k[len(briefPrefix):]), string(val))
		return true
	}); err != nil {
		return fmt.Errorf("load briefs: %w", err)
	}
	return nil
}

// writeBriefs writes the brief of every profile of the store, then the
// mark that they are there.
func (v *View) writeBriefs() error {
	b := v.db.NewBatch()
	n, undecodable := 0, 0
	var scratch []byte
	var commitErr error
	err := v.db.Scan([]byte("p/"), func(k, raw []byte) bool {
		var err error
		scratch, err = briefOf(scratch[:0], raw)
		if err != nil {
			undecodable++
			return true
		}
		b.Set(append([]byte(briefPrefix), k[len("p/"):]...), scratch)
		if n++; n%4096 == 0 {
			if commitErr = b.CommitNoSync(); commitErr != nil {
				return false
			}
			b = v.db.NewBatch()
		}
		return true
	})
	if err == nil {
		err = commitErr
	}
	if err != nil {
		return fmt.Errorf("write briefs: %w", err)
	}
	if undecodable > 0 {
		v.log.Warn("profiles without a brief: their snapshots do not decode", "profiles", undecodable)
	}
	b.Set([]byte(briefsKey), []byte{1})
	if err := b.Commit(); err != nil {
		return fmt.Errorf("write briefs: %w", err)
	}
	v.log.Info("briefs written for the profiles of a store that had none", "profiles", n)
	return nil
}

// Memory says what a view holds in memory besides its cache of profiles.
type Memory struct {
	Identifiers int // identifier → profile id
	Briefs      int // profile id → Brief
	Bytes       int // of both, dead space included
}

// Memory returns what the view holds in memory besides its cache.
func (v *View) Memory() Memory {
	return Memory{Identifiers: v.idx.len(), Briefs: v.briefs.len(), Bytes: v.idx.bytes() + v.briefs.bytes()}
}
