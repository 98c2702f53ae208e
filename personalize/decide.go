package personalize

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/statsview"
	"github.com/ecrm/ecrm/internal/web"
)

// campaignKind is the config topic's kind of a campaign.
const campaignKind = "campaign"

// CampaignHandler applies the campaigns of the config topic to reg.
func CampaignHandler(reg *campaign.Registry) configtopic.Handler {
	return configtopic.Apply[campaign.Campaign](reg)
}

// Decisions serves GET /v1/decide and the campaigns admin API.
type Decisions struct {
	s        *Server
	reg      *campaign.Registry
	exposure Publisher // queues exposures without waiting
	config   *configtopic.Writer[campaign.Campaign]
	stats    *statsview.View
}

// NewDecisions returns the decide and campaigns handlers of s.
func NewDecisions(s *Server, reg *campaign.Registry, exposure, config Publisher, stats *statsview.View) *Decisions {
	return &Decisions{s: s, reg: reg, exposure: exposure, stats: stats,
		config: configtopic.NewWriter[campaign.Campaign](campaignKind, s.topics.Config, config, reg)}
}

// Routes mounts GET /v1/decide (write key) and the campaigns admin API
// (behind auth): GET /v1/campaigns, GET|PUT|DELETE /v1/campaigns/{id},
// GET /v1/campaigns/{id}/report.
func (d *Decisions) Routes(r fiber.Router, auth fiber.Handler) {
	r.Get("/v1/decide", d.decide)
	g := r.Group("/v1/campaigns", auth)
	g.Get("", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"campaigns": d.reg.List()}) })
	g.Get("/:id", func(c *fiber.Ctx) error {
		camp, ok := d.reg.Get(c.Params("id"))
		if !ok {
			return web.Errorf(fiber.StatusNotFound, "no such campaign")
		}
		return c.JSON(camp)
	})
	g.Get("/:id/report", d.report)
	g.Put("/:id", d.put)
	g.Delete("/:id", d.delete)
}

// decide answers GET /v1/decide?placement=&anonymousId=&userId=: the
// campaign this visitor sees at the placement, or none. Each decision is
// recorded as an exposure (the holdout's too), through the hits topic, so
// profiles count it for frequency caps and conversions.
func (d *Decisions) decide(c *fiber.Ctx) error {
	st, err := d.s.site(c)
	if err != nil {
		return err
	}
	placement := strings.Clone(c.Query("placement"))
	if placement == "" || len(placement) > 64 {
		return web.Errorf(fiber.StatusBadRequest, "placement is required (at most 64 characters)")
	}
	userID, anonID := strings.Clone(c.Query("userId")), strings.Clone(c.Query("anonymousId"))
	if !identity.Valid(userID, nil) {
		userID = ""
	}
	if !identity.Valid(anonID, nil) {
		anonID = ""
	}
	if userID == "" && anonID == "" {
		return web.Errorf(fiber.StatusBadRequest, "anonymousId or userId is required")
	}
	now := time.Now()
	p := d.s.visitorProfile(c)
	if p == nil {
		p = new(profile.Profile)
	}
	seen := make(map[string]int, len(p.Campaigns))
	for id, x := range p.Campaigns {
		seen[id] = x.Count
	}
	visitor := cmpOr(userID, anonID)
	vars := varsPool.Get().(map[string]any)
	dec := d.reg.Decide(placement, campaign.Visitor{ID: visitor, Vars: p.VarsInto(vars, now, profile.RFMBreakpoints{}), Seen: seen}, now)
	clear(vars) // the pool keeps no visitor's values alive
	varsPool.Put(vars)
	if dec.Campaign != nil {
		d.record(c.UserContext(), st.ID, userID, anonID, placement, dec, now)
	}
	buf := answerBufs.Get().(*[]byte)
	*buf = appendDecision((*buf)[:0], placement, dec)
	c.Response().SetBody(*buf) // copies
	c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	if cap(*buf) <= 64<<10 {
		answerBufs.Put(buf)
	}
	return nil
}

// appendDecision appends decide's answer, as json.Marshal writes the map
// {"placement", "campaign", "group"} (the campaign null for none and for
// the holdout, whose group alone is named; no group for none).
func appendDecision(dst []byte, placement string, dec campaign.Decision) []byte {
	dst = append(dst, `{"campaign":`...)
	if dec.Campaign == nil || dec.Group == campaign.Holdout {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, dec.Shown...)
	}
	if dec.Campaign != nil {
		dst = event.AppendString(append(dst, `,"group":`...), dec.Group)
	}
	dst = event.AppendString(append(dst, `,"placement":`...), placement)
	return append(dst, '}')
}

// answerBufs holds the buffers decide's answers are built in.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// varsPool holds the maps of profile variables decisions evaluate
// segments over: Decide keeps none of them.
var varsPool = sync.Pool{New: func() any { return make(map[string]any, 64) }}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// record queues the exposure event; a failure is logged by the producer,
// never delays the page.
func (d *Decisions) record(ctx context.Context, site, userID, anonID, placement string, dec campaign.Decision, now time.Time) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	e := event.Event{
		Type: event.TypeTrack, Event: profile.EventCampaignExposed, MessageID: hex.EncodeToString(id[:]),
		UserID: userID, AnonymousID: anonID, Timestamp: now.UTC(), ReceivedAt: now.UTC(), SiteID: site,
		Properties: map[string]any{"campaign_id": dec.Campaign.ID, "group": dec.Group, "placement": placement},
	}
	value, err := e.AppendJSON(nil)
	if err != nil {
		return
	}
	_ = d.exposure.Publish(ctx, kafka.Message{Topic: d.s.topics.Hits, Key: []byte(e.Key()), Value: value, Time: now})
}

func (d *Decisions) report(c *fiber.Ctx) error {
	id := c.Params("id")
	camp, ok := d.reg.Get(id)
	if !ok {
		return web.Errorf(fiber.StatusNotFound, "no such campaign")
	}
	res, _ := statsview.Sum(d.stats, profiler.CampaignID(id), func(into *campaign.Result, p campaign.Result) { into.Add(p) })
	return c.JSON(fiber.Map{"campaign": camp, "report": campaign.Analyze(res),
		"attributionWindowDays": profile.AttributionWindow.Hours() / 24})
}

func (d *Decisions) put(c *fiber.Ctx) error {
	var camp campaign.Campaign
	if err := json.Unmarshal(c.Body(), &camp); err != nil {
		return web.Errorf(fiber.StatusBadRequest, `body must be a campaign: {"placement": "...", "segment": "...", "priority": 1, "holdout": 0.1, "frequencyCap": 3, "content": {...}}`)
	}
	id := strings.Clone(c.Params("id"))
	if camp.ID != "" && camp.ID != id {
		return web.Errorf(fiber.StatusBadRequest, "id in the body differs from the path")
	}
	camp.ID = id
	if err := camp.Validate(); err != nil {
		return web.Errorf(fiber.StatusBadRequest, err.Error())
	}
	switch err := d.config.Put(c.UserContext(), id, camp, nil); {
	case errors.Is(err, configtopic.ErrPublish):
		return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the campaign could not be stored; retry later", Err: err}
	case err != nil:
		return web.Errorf(fiber.StatusBadRequest, err.Error())
	}
	return c.JSON(camp)
}

func (d *Decisions) delete(c *fiber.Ctx) error {
	exists := func(id string) bool { _, ok := d.reg.Get(id); return ok }
	switch err := d.config.Delete(c.UserContext(), strings.Clone(c.Params("id")), exists); {
	case errors.Is(err, configtopic.ErrNotFound):
		return web.Errorf(fiber.StatusNotFound, "no such campaign")
	case err != nil:
		return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the campaign could not be deleted; retry later", Err: err}
	}
	return c.SendStatus(fiber.StatusNoContent)
}
