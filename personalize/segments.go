package personalize

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/web"
)

// segmentKind is the config topic's kind of a segment.
const segmentKind = "segment"

// Publisher writes records to Kafka and returns once they are acknowledged.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// SegmentHandler applies the segments of the config topic to reg.
func SegmentHandler(reg *segment.Registry) configtopic.Handler {
	return func(id string, value []byte) error {
		if value == nil {
			reg.Delete(id)
			return nil
		}
		var s segment.Segment
		if err := json.Unmarshal(value, &s); err != nil {
			return err
		}
		return reg.Put(s)
	}
}

// SegmentAdmin serves the segments admin API: definitions go to the config
// topic, where every profiler and personalize replica reads them.
type SegmentAdmin struct {
	mu    sync.Mutex
	reg   *segment.Registry
	pub   Publisher
	topic string
}

// NewSegmentAdmin returns the admin side of segments; pub must wait for acks.
func NewSegmentAdmin(reg *segment.Registry, pub Publisher, topic string) *SegmentAdmin {
	return &SegmentAdmin{reg: reg, pub: pub, topic: topic}
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
		if err := a.put(c.UserContext(), s); err != nil {
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the segment could not be stored; retry later", Err: err}
		}
		return c.JSON(s)
	})
	g.Delete("/:id", func(c *fiber.Ctx) error {
		err := a.delete(c.UserContext(), strings.Clone(c.Params("id")))
		switch {
		case errors.Is(err, errNoSegment):
			return web.Errorf(fiber.StatusNotFound, "no such segment")
		case err != nil:
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the segment could not be deleted; retry later", Err: err}
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

var errNoSegment = errors.New("no such segment")

func (a *SegmentAdmin) put(ctx context.Context, s segment.Segment) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	value, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := a.pub.Publish(ctx, kafka.Message{Topic: a.topic, Key: configtopic.Key(segmentKind, s.ID), Value: value}); err != nil {
		return err
	}
	return a.reg.Put(s)
}

func (a *SegmentAdmin) delete(ctx context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.reg.Get(id); !ok {
		return errNoSegment
	}
	if err := a.pub.Publish(ctx, kafka.Message{Topic: a.topic, Key: configtopic.Key(segmentKind, id), Value: nil}); err != nil {
		return err
	}
	a.reg.Delete(id)
	return nil
}
