package collector

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"
)

// TagHandler serves the browser tag (GET /ecrm.js) with a strong ETag, so
// browsers revalidate cheaply, and a short public cache lifetime, so a new
// release reaches pages within minutes.
func TagHandler(tag []byte) fiber.Handler {
	sum := sha256.Sum256(tag)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300, stale-while-revalidate=86400")
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		if match := c.Get(fiber.HeaderIfNoneMatch); match == etag || match == "W/"+etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, "application/javascript; charset=utf-8")
		return c.Send(tag)
	}
}
