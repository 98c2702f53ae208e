package profile

import (
	"time"

	"github.com/ecrm/ecrm/internal/event"
)

// EventCampaignExposed is the track event personalize records when it
// decides a campaign for a visitor, in the treatment or the holdout group
// (properties campaign_id, group, placement).
const EventCampaignExposed = "Campaign Exposed"

// AttributionWindow is how long after a visitor's first exposure to a
// campaign their orders count as its conversions. Set once at start-up.
var AttributionWindow = 7 * 24 * time.Hour

// MaxCampaigns bounds the campaigns a profile remembers.
const MaxCampaigns = 50

// Exposure is a visitor's history with one campaign.
type Exposure struct {
	Group string    `json:"group"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Count int       `json:"count"`
	// Converted is set by the first order within AttributionWindow of
	// First; Orders and Revenue sum the orders within it.
	Converted bool    `json:"converted,omitempty"`
	Orders    int64   `json:"orders,omitempty"`
	Revenue   float64 `json:"revenue,omitempty"`
}

// expose records a Campaign Exposed event.
func (p *Profile) expose(e *event.Event, ts time.Time) {
	if e.Type != event.TypeTrack || e.Event != EventCampaignExposed {
		return
	}
	id, _ := e.Properties["campaign_id"].(string)
	group, _ := e.Properties["group"].(string)
	if id == "" || len(id) > 64 || (group != "treatment" && group != "holdout") {
		return
	}
	if p.Campaigns == nil {
		p.Campaigns = map[string]*Exposure{}
	}
	x, ok := p.Campaigns[id]
	if !ok {
		if len(p.Campaigns) >= MaxCampaigns {
			return
		}
		x = &Exposure{Group: group, First: ts}
		p.Campaigns[id] = x
	}
	x.Count++
	if ts.After(x.Last) {
		x.Last = ts
	}
	if ts.Before(x.First) {
		x.First = ts
	}
}

// attribute counts an order of revenue at ts toward the campaigns whose
// attribution window it falls in.
func (p *Profile) attribute(ts time.Time, revenue float64) {
	for _, x := range p.Campaigns {
		if ts.Before(x.First) || ts.Sub(x.First) > AttributionWindow {
			continue
		}
		x.Converted = true
		x.Orders++
		x.Revenue += revenue
	}
}
