package collector

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/web"
)

// Routes mounts the sites admin API on r behind auth:
// GET /v1/sites, GET|PUT|DELETE /v1/sites/{id}.
func (a *SiteAdmin) Routes(r fiber.Router, auth fiber.Handler) {
	g := r.Group("/v1/sites", auth)
	g.Get("", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"sites": a.reg.List()}) })
	g.Get("/:id", func(c *fiber.Ctx) error {
		s, ok := a.Get(c.Params("id"))
		if !ok {
			return web.Errorf(fiber.StatusNotFound, "no such site")
		}
		return c.JSON(s)
	})
	g.Put("/:id", func(c *fiber.Ctx) error {
		var s site.Site
		if err := json.Unmarshal(c.Body(), &s); err != nil {
			return web.Errorf(fiber.StatusBadRequest, "body must be a site: {\"writeKey\": ..., \"origins\": [...], ...}")
		}
		if s.ID != "" && s.ID != c.Params("id") {
			return web.Errorf(fiber.StatusBadRequest, "id in the body differs from the path")
		}
		s.ID = strings.Clone(c.Params("id")) // Fiber reuses the request's memory
		if err := s.Validate(); err != nil {
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		err := a.Put(c.UserContext(), s)
		switch {
		case errors.Is(err, site.ErrKeyTaken):
			return web.Errorf(fiber.StatusConflict, "another site has that write key")
		case err != nil:
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the site could not be stored; retry later", Err: err}
		}
		return c.JSON(s)
	})
	g.Delete("/:id", func(c *fiber.Ctx) error {
		err := a.Delete(c.UserContext(), strings.Clone(c.Params("id")))
		switch {
		case errors.Is(err, ErrSiteNotFound):
			return web.Errorf(fiber.StatusNotFound, "no such site")
		case err != nil:
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the site could not be deleted; retry later", Err: err}
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}
