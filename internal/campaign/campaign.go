// Package campaign holds campaigns — what to show at a placement of the
// site, to whom, how often — and the rules that decide, for one visitor,
// which campaign a placement shows: schedule, segment, frequency cap,
// priority, and a stable random holdout that measures what the campaign
// really earns. It imports no infrastructure.
package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecrm/ecrm/internal/segment"
)

// Groups a visitor falls in for a campaign.
const (
	Treatment = "treatment"
	Holdout   = "holdout"
)

// ErrInvalid is returned (wrapped) by Validate.
var ErrInvalid = errors.New("invalid campaign")

// Campaign is what to show at a placement, to whom and how often.
type Campaign struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Placement string `json:"placement"`
	// Segment is an expression over the profile's variables (see
	// segment); empty targets everyone.
	Segment string `json:"segment,omitempty"`
	// Priority orders campaigns competing for a placement, highest first.
	Priority int `json:"priority,omitempty"`
	// Start and End bound when the campaign runs; zero is open.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// FrequencyCap is how many times one visitor may see it; 0 is no cap.
	FrequencyCap int `json:"frequencyCap,omitempty"`
	// Holdout is the share of visitors, 0 to 0.5, kept from seeing it, to
	// measure its uplift; the same visitor always falls in the same group.
	Holdout float64 `json:"holdout,omitempty"`
	// Content is what the page shows (title, text, url, cta, image, ...).
	Content map[string]any `json:"content,omitempty"`
}

// Validate reports whether the campaign can run.
func (c Campaign) Validate() error {
	_, err := compile(c)
	return err
}

func compile(c Campaign) (*compiled, error) {
	switch {
	case c.ID == "" || len(c.ID) > 64 || strings.ContainsAny(c.ID, " /:"):
		return nil, fmt.Errorf("%w: id must be 1 to 64 characters without spaces, slashes or colons", ErrInvalid)
	case c.Placement == "" || len(c.Placement) > 64:
		return nil, fmt.Errorf("%w: placement must be 1 to 64 characters", ErrInvalid)
	case c.Holdout < 0 || c.Holdout > 0.5 || math.IsNaN(c.Holdout):
		return nil, fmt.Errorf("%w: holdout must be between 0 and 0.5", ErrInvalid)
	case c.FrequencyCap < 0:
		return nil, fmt.Errorf("%w: frequencyCap must not be negative", ErrInvalid)
	case !c.Start.IsZero() && !c.End.IsZero() && !c.End.After(c.Start):
		return nil, fmt.Errorf("%w: end must come after start", ErrInvalid)
	}
	shown, err := json.Marshal(map[string]any{"id": c.ID, "name": c.Name, "content": c.Content})
	if err != nil {
		return nil, fmt.Errorf("%w: content: %v", ErrInvalid, err)
	}
	cc := &compiled{Campaign: c, shown: shown}
	if c.Segment != "" {
		seg, err := segment.Compile(segment.Segment{ID: "campaign", Expr: c.Segment})
		if err != nil {
			return nil, fmt.Errorf("%w: segment: %s", ErrInvalid, strings.TrimPrefix(err.Error(), segment.ErrInvalid.Error()+": "))
		}
		cc.seg = seg
	}
	return cc, nil
}

type compiled struct {
	Campaign
	seg   *segment.Compiled
	shown json.RawMessage // see Decision.Shown
}

// Running reports whether the campaign runs at now.
func (c Campaign) Running(now time.Time) bool {
	return (c.Start.IsZero() || !now.Before(c.Start)) && (c.End.IsZero() || now.Before(c.End))
}

// GroupOf returns the group a visitor (a stable id of theirs) falls in for
// a campaign with the given holdout share: a hash of both, so the same
// visitor always gets the same answer and campaigns draw independently.
func GroupOf(campaignID, visitor string, holdout float64) string {
	h := fnv.New64a()
	h.Write([]byte(campaignID))
	h.Write([]byte{0})
	h.Write([]byte(visitor))
	// FNV alone mixes short keys poorly: finish with splitmix64's mixer so
	// that draws of different campaigns are independent.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	if float64(x>>11)/float64(1<<53) < holdout {
		return Holdout
	}
	return Treatment
}

// Registry holds the campaigns. The zero value is empty and ready; it is
// safe for concurrent use.
type Registry struct {
	mu   sync.RWMutex
	byID map[string]*compiled
}

// Put compiles and adds or replaces a campaign.
func (r *Registry) Put(c Campaign) error {
	cc, err := compile(c)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string]*compiled{}
	}
	r.byID[c.ID] = cc
	return nil
}

// Delete removes a campaign and reports whether it was there.
func (r *Registry) Delete(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byID[id]
	delete(r.byID, id)
	return ok
}

// Get returns a campaign.
func (r *Registry) Get(id string) (Campaign, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.byID[id]
	if !ok {
		return Campaign{}, false
	}
	return c.Campaign, true
}

// List returns the campaigns ordered by id.
func (r *Registry) List() []Campaign {
	r.mu.RLock()
	out := make([]Campaign, 0, len(r.byID))
	for _, c := range r.byID {
		out = append(out, c.Campaign)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Campaign) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Visitor is what a decision knows of the visitor.
type Visitor struct {
	// ID is a stable id of the visitor for the holdout draw.
	ID string
	// Vars are the profile's variables (profile.Vars) for segments.
	Vars map[string]any
	// Seen counts the times the visitor saw each campaign.
	Seen map[string]int
}

// Decision is the outcome for one placement: the campaign and the
// visitor's group, or no campaign.
type Decision struct {
	// Campaign is the registry's: callers must not modify it.
	Campaign *Campaign
	Group    string
	// Shown is what a page gets of the campaign, encoded once when it was
	// put: {"content":...,"id":...,"name":...}, as json.Marshal writes
	// that map.
	Shown json.RawMessage
}

// Decide picks the campaign a placement shows the visitor: among the
// campaigns of the placement that run at now, whose segment the visitor
// is in and whose frequency cap they have not reached, the one of highest
// priority (ties by id). A visitor in its holdout gets the decision with
// Group Holdout: the page shows nothing, and the exposure is counted for
// the comparison.
func (r *Registry) Decide(placement string, v Visitor, now time.Time) Decision {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *compiled
	for _, c := range r.byID {
		if c.Placement != placement || !c.Running(now) {
			continue
		}
		if c.FrequencyCap > 0 && v.Seen[c.ID] >= c.FrequencyCap {
			continue
		}
		if c.seg != nil && !c.seg.Match(v.Vars) {
			continue
		}
		if best == nil || c.Priority > best.Priority || c.Priority == best.Priority && c.ID < best.ID {
			best = c
		}
	}
	if best == nil {
		return Decision{}
	}
	return Decision{Campaign: &best.Campaign, Group: GroupOf(best.ID, v.ID, best.Holdout), Shown: best.shown}
}
