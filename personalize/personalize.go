// Package personalize serves what pages and marketers read from a replica's
// in-memory view: profiles now; recommendations and decisions as they come.
package personalize

import (
	"errors"
	"net/url"

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

// Profile is the JSON form of a profile given to admins.
type Profile struct {
	ID        string         `json:"id"`
	IDs       []string       `json:"ids"`
	Traits    map[string]any `json:"traits,omitempty"`
	Events    int64          `json:"events"`
	PageViews int64          `json:"pageViews"`
	FirstSeen string         `json:"firstSeen"`
	LastSeen  string         `json:"lastSeen"`
}

func publicProfile(p *profile.Profile) Profile {
	return Profile{
		ID: p.ID, IDs: p.IDs, Traits: p.Traits, Events: p.Events, PageViews: p.PageViews,
		FirstSeen: p.FirstSeen.Format("2006-01-02T15:04:05.000Z07:00"),
		LastSeen:  p.LastSeen.Format("2006-01-02T15:04:05.000Z07:00"),
	}
}

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
	return c.JSON(publicProfile(p))
}
