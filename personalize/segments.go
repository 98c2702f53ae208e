package personalize

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/web"
)

// segmentKind is the config topic's kind of a segment.
const segmentKind = "segment"

// Publisher writes records to Kafka: the config writers' wait for the
// acknowledgement, the exposures' only queue them.
type Publisher = configtopic.Publisher

// SegmentHandler applies the segments of the config topic to reg.
func SegmentHandler(reg *segment.Registry) configtopic.Handler {
	return configtopic.Apply[segment.Segment](reg)
}

// SegmentAdmin serves the segments admin API: definitions go to the config
// topic, where every profiler and personalize replica reads them.
type SegmentAdmin struct {
	reg *segment.Registry
	w   *configtopic.Writer[segment.Segment]
}

// NewSegmentAdmin returns the admin side of segments; pub must wait for acks.
func NewSegmentAdmin(reg *segment.Registry, pub Publisher, topic string) *SegmentAdmin {
	return &SegmentAdmin{reg: reg, w: configtopic.NewWriter[segment.Segment](segmentKind, topic, pub, reg)}
}

// Routes mounts GET /v1/segments and GET|PUT|DELETE /v1/segments/{id} on r
// behind auth.
func (a *SegmentAdmin) Routes(r fiber.Router, auth fiber.Handler) {
	g := r.Group("/v1/segments", auth)
	g.Get("", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"segments": a.reg.List()}) })
	g.Get("/:id", func(c *fiber.Ctx) error {
		s, ok := a.reg.Get(c.Params("id"))
		if !ok {
			return web.Errorf(fiber.StatusNotFound, "no such segment")
		}
		return c.JSON(s)
	})
	g.Put("/:id", func(c *fiber.Ctx) error {
		var s segment.Segment
		if err := json.Unmarshal(c.Body(), &s); err != nil {
			return web.Errorf(fiber.StatusBadRequest, `body must be a segment: {"expr": "...", "name": "...", "description": "..."}`)
		}
		id := strings.Clone(c.Params("id")) // Fiber reuses the request's memory
		if s.ID != "" && s.ID != id {
			return web.Errorf(fiber.StatusBadRequest, "id in the body differs from the path")
		}
		s.ID = id
		if err := s.Validate(); err != nil {
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		switch err := a.w.Put(c.UserContext(), s.ID, s, nil); {
		case errors.Is(err, configtopic.ErrPublish):
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the segment could not be stored; retry later", Err: err}
		case err != nil:
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		return c.JSON(s)
	})
	g.Delete("/:id", func(c *fiber.Ctx) error {
		err := a.w.Delete(c.UserContext(), strings.Clone(c.Params("id")), a.exists)
		switch {
		case errors.Is(err, configtopic.ErrNotFound):
			return web.Errorf(fiber.StatusNotFound, "no such segment")
		case err != nil:
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the segment could not be deleted; retry later", Err: err}
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

func (a *SegmentAdmin) exists(id string) bool {
	_, ok := a.reg.Get(id)
	return ok
}
