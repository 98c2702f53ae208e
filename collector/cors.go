package collector

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
)

// preflight answers CORS preflight requests. The write key, and with it the
// site's allowed origins, travels in the request that follows, so the
// preflight lets any origin ask and the request itself is checked.
func (c *Collector) preflight(ctx *fiber.Ctx) error {
	origin := ctx.Get(fiber.HeaderOrigin)
	if origin == "" {
		return ctx.SendStatus(fiber.StatusNoContent)
	}
	c.cors(ctx, origin)
	ctx.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
	ctx.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, Authorization")
	ctx.Set(fiber.HeaderAccessControlMaxAge, "86400")
	return ctx.SendStatus(fiber.StatusNoContent)
}

// cors lets the page at origin read the answer and send cookies with its
// requests (the visitor cookie), which needs the exact origin, never "*".
func (c *Collector) cors(ctx *fiber.Ctx, origin string) {
	if origin == "" {
		return
	}
	// As ctx.Set would, without normalising the names, which are.
	h := &ctx.Response().Header
	h.SetCanonical(headerAllowOrigin, utils.UnsafeBytes(origin)) // copied
	h.SetCanonical(headerAllowCredentials, headerTrue)
	ctx.Vary(fiber.HeaderOrigin)
}

var (
	headerAllowOrigin      = []byte(fiber.HeaderAccessControlAllowOrigin)
	headerAllowCredentials = []byte(fiber.HeaderAccessControlAllowCredentials)
	headerTrue             = []byte("true")
)
