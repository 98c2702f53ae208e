package collector

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// setCookie writes the Set-Cookie header a fiber.Cookie with both MaxAge
// and Expires (now plus the lifetime) writes, for lifetimes with and
// without a Max-Age and for a deletion.
func TestSetCookieHeader(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	c := New(Config{CookieDomain: "shop.example"}, nil, discardPublisher{}, "hits", slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	c.now = func() time.Time { return now }
	app := fiber.New()
	for _, maxAge := range []time.Duration{395 * 24 * time.Hour, time.Second, 500 * time.Millisecond, 0, -time.Hour} {
		for _, https := range []bool{false, true} {
			fctx := new(fasthttp.RequestCtx)
			ctx := app.AcquireCtx(fctx)
			c.setCookie(ctx, "ecrm_vid", "v", maxAge, https)
			got := string(fctx.Response.Header.Peek(fiber.HeaderSetCookie))
			app.ReleaseCtx(ctx)

			want := &fiber.Cookie{
				Name: "ecrm_vid", Value: "v", Path: "/", Domain: "shop.example",
				MaxAge: int(maxAge.Seconds()), Expires: now.Add(maxAge),
				HTTPOnly: true, Secure: https, SameSite: fiber.CookieSameSiteLaxMode,
			}
			if maxAge <= 0 {
				want.MaxAge, want.Expires = -1, time.Unix(0, 0)
			}
			fctx = new(fasthttp.RequestCtx)
			ctx = app.AcquireCtx(fctx)
			ctx.Cookie(want)
			wantHeader := string(fctx.Response.Header.Peek(fiber.HeaderSetCookie))
			app.ReleaseCtx(ctx)
			if got != wantHeader {
				t.Errorf("maxAge %s https %t: Set-Cookie %q, want %q", maxAge, https, got, wantHeader)
			}
		}
	}
}
