// Package web holds what every ecrm HTTP role shares: the Fiber app with its
// limits and timeouts, the one place errors become HTTP statuses and JSON
// messages, admin authentication, and the operations endpoints (/healthz,
// /readyz, /metrics).
package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
)

// Limits of every ecrm HTTP server.
const (
	// BodyLimit is the largest request body accepted (512 KB).
	BodyLimit    = 512 << 10
	ReadTimeout  = 10 * time.Second
	WriteTimeout = 10 * time.Second
	IdleTimeout  = 90 * time.Second
	// ReadBufferSize bounds the request line and headers together (16 KB:
	// room for a shop's cookies and a pixel's query).
	ReadBufferSize = 16 << 10
)

// Error is an error with the HTTP status and the message a client may see.
// Err, when set, is logged and never sent.
type Error struct {
	Code int
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given status and client message.
func Errorf(code int, msg string) *Error { return &Error{Code: code, Msg: msg} }

// LargeBody lets one route take request bodies above BodyLimit. The
// server reads a body before any handler runs, so the decision is taken
// from the request line and headers alone.
type LargeBody struct {
	Method, Path string
	// Limit is the largest body accepted; Name says it in messages
	// ("16 MB").
	Limit int
	Name  string
	// ReadTimeout is how long reading such a request may take (default
	// ReadTimeout).
	ReadTimeout time.Duration
	// Admit, when set, must accept the headers for the larger limit to
	// hold (for instance: they carry the admin token); other requests keep
	// BodyLimit.
	Admit func(h *fasthttp.RequestHeader) bool
}

// route reports whether the request's method and path are the route's
// (case-insensitive, trailing slash ignored, like Fiber's routing).
func (l LargeBody) route(h *fasthttp.RequestHeader) bool {
	if !bytes.EqualFold(h.Method(), []byte(l.Method)) {
		return false
	}
	path, _, _ := bytes.Cut(h.RequestURI(), []byte("?"))
	if len(path) > 1 {
		path = bytes.TrimSuffix(path, []byte("/"))
	}
	return bytes.EqualFold(path, []byte(l.Path))
}

// admitted reports whether the request may send up to Limit.
func (l LargeBody) admitted(h *fasthttp.RequestHeader) bool {
	return l.route(h) && (l.Admit == nil || l.Admit(h))
}

// NewApp returns a Fiber app with ecrm's limits, timeouts and error
// handler. X-Forwarded-For and X-Forwarded-Proto are believed only from
// trustedProxies (IP addresses or CIDR ranges); from anyone else the
// connection's own address and scheme count. Bodies are limited to
// BodyLimit but on the large routes.
func NewApp(logger *slog.Logger, trustedProxies []string, large ...LargeBody) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:                 "ecrm",
		BodyLimit:               BodyLimit,
		ReadTimeout:             ReadTimeout,
		WriteTimeout:            WriteTimeout,
		IdleTimeout:             IdleTimeout,
		ReadBufferSize:          ReadBufferSize,
		DisableStartupMessage:   true,
		ErrorHandler:            errorHandler(logger, large),
		EnableTrustedProxyCheck: true,
		TrustedProxies:          trustedProxies,
		ProxyHeader:             fiber.HeaderXForwardedFor,
		EnableIPValidation:      true,
	})
	if len(large) > 0 {
		app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			for _, l := range large {
				if l.admitted(h) {
					return fasthttp.RequestConfig{MaxRequestBodySize: l.Limit, ReadTimeout: l.ReadTimeout}
				}
			}
			return fasthttp.RequestConfig{}
		}
	}
	return app
}

// ErrorHandler maps errors to a status and a JSON body `{"error": msg}`: an
// *Error keeps its code and message, a *fiber.Error (routing, body limit)
// its code and text, anything else becomes a 500 whose detail goes to the
// log only.
func ErrorHandler(logger *slog.Logger) fiber.ErrorHandler { return errorHandler(logger, nil) }

func errorHandler(logger *slog.Logger, large []LargeBody) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		code, msg := fiber.StatusInternalServerError, "internal error"
		var we *Error
		var fe *fiber.Error
		switch {
		case errors.As(err, &we):
			code, msg = we.Code, we.Msg
		case errors.As(err, &fe):
			code, msg = fe.Code, strings.ToLower(fe.Message)
			if code == fiber.StatusRequestEntityTooLarge {
				msg = "request body is larger than 512 KB"
				for _, l := range large {
					switch h := &c.Request().Header; {
					case l.admitted(h):
						msg = "request body is larger than " + l.Name
					case l.route(h):
						msg = "request body is larger than 512 KB (" + l.Name + " with the admin token)"
					}
				}
			}
		}
		if code >= 500 {
			logger.Error("request failed", "method", c.Method(), "path", c.Path(), "status", code, "err", err)
		}
		return c.Status(code).JSON(fiber.Map{"error": msg})
	}
}

// AdminAuth returns middleware that requires `Authorization: Bearer <token>`.
func AdminAuth(token string) fiber.Handler {
	want := []byte(token)
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		got, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || got == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="ecrm"`)
			return Errorf(fiber.StatusUnauthorized, "admin token required: send Authorization: Bearer <token>")
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			return Errorf(fiber.StatusUnauthorized, "admin token is not valid")
		}
		return c.Next()
	}
}

// HasAdminToken reports whether the request's headers carry
// `Authorization: Bearer <token>`, for a LargeBody's Admit.
func HasAdminToken(token string) func(h *fasthttp.RequestHeader) bool {
	want := []byte(token)
	return func(h *fasthttp.RequestHeader) bool {
		got, ok := bytes.CutPrefix(h.Peek(fiber.HeaderAuthorization), []byte("Bearer "))
		return ok && len(got) > 0 && subtle.ConstantTimeCompare(got, want) == 1
	}
}

// Check is one readiness condition: a name and a function that returns an
// error while the condition does not hold.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Ops mounts /healthz (the process answers), /readyz (every check holds)
// and /metrics (Prometheus, from gatherer).
func Ops(app fiber.Router, gatherer prometheus.Gatherer, checks []Check) {
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		status := fiber.Map{}
		ready := true
		for _, ch := range checks {
			if err := ch.Fn(ctx); err != nil {
				status[ch.Name] = err.Error()
				ready = false
			} else {
				status[ch.Name] = "ok"
			}
		}
		code := fiber.StatusOK
		if !ready {
			code = fiber.StatusServiceUnavailable
		}
		return c.Status(code).JSON(fiber.Map{"ready": ready, "checks": status})
	})
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))
}
