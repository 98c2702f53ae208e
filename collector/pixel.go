package collector

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/web"
)

// maxPixelQuery bounds a pixel's query string; the server's read buffer
// (web.ReadBufferSize) bounds the request line and headers together.
const maxPixelQuery = 12 << 10

// gif is the smallest transparent 1x1 GIF.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// pixel serves GET /v1/pixel/{track,page}: an event carried by query
// parameters (for email opens and <noscript>), answered with a 1x1 GIF.
//
// Parameters: writeKey (required), event (track) or name (page),
// anonymousId, userId, messageId, timestamp (RFC 3339), properties as a
// JSON object, or single properties as `properties.<name>=<value>`, and
// utm_source, utm_medium, utm_campaign, utm_term, utm_content. The page URL
// and referrer come from `url` and `referrer`, else the Referer header.
func (c *Collector) pixel(typ string) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		s, err := c.site(ctx, ctx.Query("writeKey"))
		if err != nil {
			return err
		}
		e, err := pixelEvent(ctx, typ)
		if err != nil {
			c.count["invalid"].Inc()
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		// A pixel without ids is the server cookie's visitor: validate as such.
		probe := *e
		probe.VisitorID = "pixel"
		if err := probe.Validate(); err != nil {
			c.count["invalid"].Inc()
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		if err := c.accept(ctx, s, []*event.Event{e}, []int{0}, nil); err != nil {
			return err
		}
		if ctx.Response().StatusCode() != fiber.StatusOK {
			return nil // the event was rejected: keep the JSON answer
		}
		ctx.Status(fiber.StatusOK)
		ctx.Set(fiber.HeaderContentType, "image/gif")
		ctx.Set(fiber.HeaderCacheControl, "no-store, max-age=0")
		return ctx.Send(gif)
	}
}

func pixelEvent(ctx *fiber.Ctx, typ string) (*event.Event, error) {
	e := &event.Event{
		Type:        typ,
		Event:       ctx.Query("event"),
		Name:        ctx.Query("name"),
		AnonymousID: ctx.Query("anonymousId"),
		UserID:      ctx.Query("userId"),
		MessageID:   ctx.Query("messageId"),
		Properties:  map[string]any{},
		Context:     map[string]any{},
	}
	if ts := ctx.Query("timestamp"); ts != "" {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return nil, errf("timestamp is not RFC 3339")
		}
		e.Timestamp = t
	}
	if raw := ctx.Query("properties"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &e.Properties); err != nil {
			return nil, errf("properties is not a JSON object")
		}
		if e.Properties == nil { // "null"
			e.Properties = map[string]any{}
		}
	}
	campaign := map[string]any{}
	ctx.Context().QueryArgs().VisitAll(func(k, v []byte) {
		key := string(k)
		if name, ok := strings.CutPrefix(key, "properties."); ok && name != "" {
			e.Properties[name] = string(v)
		}
		if name, ok := strings.CutPrefix(key, "utm_"); ok && name != "" {
			if name == "campaign" {
				name = "name"
			}
			campaign[name] = string(v)
		}
	})
	if len(campaign) > 0 {
		e.Context["campaign"] = campaign
	}
	page := map[string]any{}
	if u := ctx.Query("url"); u != "" {
		page["url"] = u
	} else if ref := ctx.Get(fiber.HeaderReferer); ref != "" {
		page["url"] = ref
	}
	if r := ctx.Query("referrer"); r != "" {
		page["referrer"] = r
	}
	if len(page) > 0 {
		e.Context["page"] = page
	}
	if len(ctx.Request().URI().QueryString()) > maxPixelQuery {
		return nil, errf("query is larger than 12 KB")
	}
	return e, nil
}

type pixelError string

func (p pixelError) Error() string { return string(p) }

func errf(msg string) error { return pixelError("invalid event: " + msg) }
