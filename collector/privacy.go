package collector

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/site"
)

// trackingAllowed reports whether the browser's signals let the site track
// it: Do Not Track and Global Privacy Control count where the site honours
// them.
func (c *Collector) trackingAllowed(ctx *fiber.Ctx, s site.Site) bool {
	if s.HonorDNT && ctx.Get("DNT") == "1" {
		return false
	}
	if s.HonorGPC && ctx.Get("Sec-GPC") == "1" {
		return false
	}
	return true
}

// hasConsent reports whether an event may be stored with its identifiers:
// always where the site does not require consent; else when the event's
// context.consent says yes — `true`, or an analytics category granted in
// `categoryPreferences` (the Segment consent format the tag sends).
func hasConsent(s site.Site, e *event.Event) bool {
	if !s.RequireConsent {
		return true
	}
	switch v := e.ContextValue("consent").(type) {
	case bool:
		return v
	case map[string]any:
		prefs, _ := v["categoryPreferences"].(map[string]any)
		if prefs == nil {
			prefs = v
		}
		for k, granted := range prefs {
			if strings.EqualFold(k, "analytics") {
				b, _ := granted.(bool)
				return b
			}
		}
	}
	return false
}

func policy(s site.Site) string {
	if s.ConsentPolicy == "" {
		return site.PolicyDrop
	}
	return s.ConsentPolicy
}

// anonymize strips everything that identifies a person from an event kept
// for aggregate counts only: ids, traits, IP, and context that could single
// the browser out.
func anonymize(e *event.Event) {
	e.DecodeRaw()
	e.UserID, e.AnonymousID, e.VisitorID, e.PreviousID, e.GroupID = "", "", "", "", ""
	e.IP = ""
	e.Traits = nil
	for _, k := range []string{"ip", "traits", "device", "userAgent", "sessionId", "screen"} {
		delete(e.Context, k)
	}
}

// optOut sets the opt-out cookie: from then on the collector stores nothing
// from this browser. The visitor cookie is removed.
func (c *Collector) optOut(ctx *fiber.Ctx) error {
	https := ctx.Protocol() == "https"
	c.setCookie(ctx, c.cfg.OptOutCookie, "1", c.cfg.CookieMaxAge, https)
	c.setCookie(ctx, c.cfg.CookieName, "", -1, https)
	c.cors(ctx, ctx.Get(fiber.HeaderOrigin))
	return ctx.JSON(fiber.Map{"optedOut": true, "message": "this browser is opted out: nothing it sends is stored"})
}

// optIn removes the opt-out cookie.
func (c *Collector) optIn(ctx *fiber.Ctx) error {
	c.setCookie(ctx, c.cfg.OptOutCookie, "", -1, ctx.Protocol() == "https")
	c.cors(ctx, ctx.Get(fiber.HeaderOrigin))
	return ctx.JSON(fiber.Map{"optedOut": false, "message": "this browser is opted in again"})
}
