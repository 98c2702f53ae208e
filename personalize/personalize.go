// Package personalize serves what pages and marketers read from a replica's
// in-memory view: profiles now; recommendations and decisions as they come.
package personalize

import (
	"errors"
	"math"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
)

// Server serves the personalize routes over a view.
type Server struct {
	view *view.View
}

// New returns a server reading v.
func New(v *view.View) *Server { return &Server{view: v} }

// AdminRoutes mounts the routes that need the admin token on r, behind
// auth.
func (s *Server) AdminRoutes(r fiber.Router, auth fiber.Handler) {
	r.Get("/v1/profiles/:identifier", auth, s.getProfile)
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

func (s *Server) getProfile(c *fiber.Ctx) error {
	id, err := url.PathUnescape(c.Params("identifier"))
	if err != nil {
		return web.Errorf(fiber.StatusBadRequest, "identifier is not a valid path segment")
	}
	p, err := s.view.Lookup(id)
	switch {
	case errors.Is(err, view.ErrBadIdentifier):
		return web.Errorf(fiber.StatusBadRequest, err.Error())
	case errors.Is(err, view.ErrNotFound):
		return web.Errorf(fiber.StatusNotFound, "no profile answers to that identifier")
	case err != nil:
		return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
	}
	return c.JSON(publicProfile(p, time.Now()))
}
