// Package personalize serves what pages and marketers read from a replica's
// in-memory view: profiles now; recommendations and decisions as they come.
package personalize

import (
	"errors"
	"math"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/recommend"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
)

// Server serves the personalize routes over a view.
type Server struct {
	view    *view.View
	pub     Publisher
	topics  kafka.Topics
	model   *recommend.Model
	catalog *catalog.Catalog
	sites   *site.Registry
}

// Options are what a Server serves from.
type Options struct {
	View *view.View
	// Pub takes erasures; it must wait for acks.
	Pub     Publisher
	Topics  kafka.Topics
	Model   *recommend.Model
	Catalog *catalog.Catalog
	// Sites authenticate pages' requests by write key.
	Sites *site.Registry
}

// New returns a server.
func New(o Options) *Server {
	return &Server{view: o.View, pub: o.Pub, topics: o.Topics, model: o.Model, catalog: o.Catalog, sites: o.Sites}
}

// AdminRoutes mounts the routes that need the admin token on r, behind
// auth.
func (s *Server) AdminRoutes(r fiber.Router, auth fiber.Handler) {
	r.Get("/v1/profiles/:identifier", auth, s.getProfile)
	r.Get("/v1/profiles/:identifier/export", auth, s.exportProfile)
	r.Delete("/v1/profiles/:identifier", auth, s.deleteProfile)
}

// Profile is the JSON form of a profile given to admins: what the profiler
// keeps (without its de-duplication bookkeeping) and the figures derived
// from it now.
type Profile struct {
	profile.Profile
	// Hide the profiler's bookkeeping.
	Recent  []string `json:"recent,omitempty"`
	Merged  []string `json:"merged,omitempty"`
	Key     string   `json:"key,omitempty"`
	Version int64    `json:"version,omitempty"`

	Lifecycle      string  `json:"lifecycle"`
	FunnelStage    string  `json:"funnelStage"`
	LTV            float64 `json:"ltv"`
	PredictedValue float64 `json:"predictedValue"`
}

func publicProfile(p *profile.Profile, now time.Time) Profile {
	return Profile{
		Profile:        *p,
		Lifecycle:      p.Lifecycle(now),
		FunnelStage:    p.FunnelStage(),
		LTV:            round2(p.LTV(now)),
		PredictedValue: round2(p.PredictedValue(now, profile.LTVHorizon)),
	}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// lookup finds the profile the request's identifier names.
func (s *Server) lookup(c *fiber.Ctx) (*profile.Profile, error) {
	id, err := url.PathUnescape(c.Params("identifier"))
	if err != nil {
		return nil, web.Errorf(fiber.StatusBadRequest, "identifier is not a valid path segment")
	}
	p, err := s.view.Lookup(id)
	switch {
	case errors.Is(err, view.ErrBadIdentifier):
		return nil, web.Errorf(fiber.StatusBadRequest, err.Error())
	case errors.Is(err, view.ErrNotFound):
		return nil, web.Errorf(fiber.StatusNotFound, "no profile answers to that identifier")
	case err != nil:
		return nil, &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
	}
	return p, nil
}

func (s *Server) getProfile(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}
	return c.JSON(publicProfile(p, time.Now()))
}

// exportProfile answers everything ecrm holds about the person, for a
// subject access request: the whole profile, bookkeeping included, and the
// identifiers that lead to it. Raw hits are not included: they stay on the
// hits topic only until its retention (7 days by default) expires.
func (s *Server) exportProfile(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+p.ID+`.json"`)
	return c.JSON(fiber.Map{
		"exportedAt":  time.Now().UTC(),
		"profile":     p,
		"identifiers": p.IDs,
		"derived":     publicProfile(p, time.Now()),
		"note":        "emails are held only as SHA-256 hashes (e: identifiers); raw hits are kept on the hits topic until its retention expires",
	})
}

// deleteProfile erases the person from every topic and store: the profiler
// owning the profile tombstones it everywhere. It answers 202: the erasure
// is done within moments, asynchronously.
func (s *Server) deleteProfile(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(c.UserContext(), profiler.EraseRecord(s.topics, p.Key)); err != nil {
		return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the erasure could not be recorded; retry later", Err: err}
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"erasing": p.ID, "identifiers": p.IDs})
}
