// Package collector is the HTTP intake of tracking hits: the Segment-spec
// tracking API. It authenticates the site by write key, validates each
// event, enriches it (receive time, clock-skew correction, visitor cookie,
// anonymised IP, parsed user agent, bot flag) and publishes it to the hits
// topic keyed by user id, else anonymous id.
package collector

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/enrich"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/web"
)

// Config tunes the collector. The zero value is valid.
type Config struct {
	// CookieName is the server-set visitor cookie (default "ecrm_vid").
	CookieName string
	// CookieDomain is the visitor cookie's domain, for a collector on a
	// subdomain of the site (t.shop.com serving shop.com); empty: host only.
	CookieDomain string
	// CookieMaxAge is the visitor cookie's lifetime (default 13 months).
	CookieMaxAge time.Duration
}

func (c Config) withDefaults() Config {
	if c.CookieName == "" {
		c.CookieName = "ecrm_vid"
	}
	if c.CookieMaxAge == 0 {
		c.CookieMaxAge = 395 * 24 * time.Hour
	}
	return c
}

// Publisher queues records for Kafka.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

var _ Publisher = (*kafka.Producer)(nil)

// Collector serves the intake routes. It is safe for concurrent use.
type Collector struct {
	cfg   Config
	sites *site.Registry
	pub   Publisher
	topic string
	ua    *enrich.Parser
	log   *slog.Logger
	now   func() time.Time

	events *prometheus.CounterVec
}

// New returns a collector that publishes hits to topic through pub.
func New(cfg Config, sites *site.Registry, pub Publisher, topic string, logger *slog.Logger, reg prometheus.Registerer) *Collector {
	c := &Collector{
		cfg: cfg.withDefaults(), sites: sites, pub: pub, topic: topic,
		ua: enrich.NewParser(4096), log: logger.With("component", "collector"), now: time.Now,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecrm_collector_events_total", Help: "Events received, by result (accepted, rejected).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(c.events)
	}
	return c
}

// Routes mounts the tracking API on r.
func (c *Collector) Routes(r fiber.Router) {
	r.Post("/v1/batch", c.batch)
	for _, typ := range []string{event.TypeTrack, event.TypePage, event.TypeIdentify, event.TypeAlias, event.TypeScreen, event.TypeGroup} {
		r.Post("/v1/"+typ, c.single(typ))
	}
}

type response struct {
	Error    string            `json:"error,omitempty"`
	Accepted int               `json:"accepted"`
	Rejected []event.Rejection `json:"rejected"`
}

func (c *Collector) batch(ctx *fiber.Ctx) error {
	b, err := event.DecodeBatch(ctx.Body())
	if err != nil {
		return web.Errorf(fiber.StatusBadRequest, err.Error())
	}
	s, err := c.site(ctx, b.WriteKey)
	if err != nil {
		return err
	}
	return c.accept(ctx, s, b.Events, b.Rejected)
}

func (c *Collector) single(typ string) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		e, key, err := event.DecodeSingle(ctx.Body(), typ)
		if errors.Is(err, event.ErrMalformed) {
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		s, aerr := c.site(ctx, key)
		if aerr != nil {
			return aerr
		}
		if err != nil {
			c.events.WithLabelValues("rejected").Inc()
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		return c.accept(ctx, s, []*event.Event{e}, nil)
	}
}

// site authenticates the request: the write key is the Basic-auth user
// name, or else the body's writeKey.
func (c *Collector) site(ctx *fiber.Ctx, bodyKey string) (site.Site, error) {
	key := bodyKey
	if u, ok := basicUser(ctx.Get(fiber.HeaderAuthorization)); ok {
		key = u
	}
	if key == "" {
		return site.Site{}, web.Errorf(fiber.StatusUnauthorized, "write key required: send it as the Basic-auth user name or as writeKey in the body")
	}
	s, err := c.sites.ByWriteKey(key)
	if err != nil {
		return site.Site{}, web.Errorf(fiber.StatusUnauthorized, "write key is not valid")
	}
	return s, nil
}

// accept enriches and publishes the valid events and answers with the
// count accepted and the rejections.
func (c *Collector) accept(ctx *fiber.Ctx, s site.Site, events []*event.Event, rejected []event.Rejection) error {
	now := c.now().UTC()
	vid := c.visitor(ctx)
	ip := enrich.AnonymizeIPString(ctx.IP())
	msgs := make([]kafka.Message, 0, len(events))
	for _, e := range events {
		c.enrich(ctx, e, s, vid, ip, now)
		value, err := json.Marshal(e)
		if err != nil {
			return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
		}
		msgs = append(msgs, kafka.Message{Topic: c.topic, Key: []byte(e.Key()), Value: value, Time: now})
	}
	if len(msgs) > 0 {
		if err := c.pub.Publish(ctx.UserContext(), msgs...); err != nil {
			return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "hits cannot be stored right now; retry later", Err: err}
		}
	}
	c.events.WithLabelValues("accepted").Add(float64(len(msgs)))
	c.events.WithLabelValues("rejected").Add(float64(len(rejected)))
	if rejected == nil {
		rejected = []event.Rejection{}
	}
	res := response{Accepted: len(msgs), Rejected: rejected}
	if len(msgs) == 0 && len(rejected) > 0 {
		res.Error = "no event of the batch is valid"
		return ctx.Status(fiber.StatusBadRequest).JSON(res)
	}
	return ctx.JSON(res)
}

func (c *Collector) enrich(ctx *fiber.Ctx, e *event.Event, s site.Site, vid, ip string, now time.Time) {
	e.ReceivedAt = now
	e.SiteID = s.ID
	e.VisitorID = vid
	e.IP = ip
	if e.MessageID == "" {
		e.MessageID = newID()
	}
	// Correct the client's clock: the time between the event and its
	// sending is trusted, the client's idea of now is not.
	switch {
	case e.Timestamp.IsZero():
		e.Timestamp = now
	case !e.SentAt.IsZero():
		e.Timestamp = now.Add(e.Timestamp.Sub(e.SentAt))
	}
	if e.ValidateTime(now) != nil {
		e.Timestamp = now
	}
	if e.Context != nil {
		if raw, ok := e.Context["ip"].(string); ok {
			e.Context["ip"] = enrich.AnonymizeIPString(raw)
		}
	}
	uaString := ctx.Get(fiber.HeaderUserAgent)
	if v, ok := e.Context["userAgent"].(string); ok && v != "" {
		uaString = v
	}
	ua := c.ua.Parse(uaString)
	e.UA = &event.UA{Browser: ua.Browser, Version: ua.Version, OS: ua.OS, Device: ua.Device}
	e.Bot = ua.Bot
}

// visitor returns the visitor id from the server-set cookie, creating one
// when absent, and (re)sets the cookie so it lives 13 months from now.
func (c *Collector) visitor(ctx *fiber.Ctx) string {
	vid := ctx.Cookies(c.cfg.CookieName)
	if !validVisitorID(vid) {
		vid = newID()
	}
	ctx.Cookie(&fiber.Cookie{
		Name:     c.cfg.CookieName,
		Value:    vid,
		Path:     "/",
		Domain:   c.cfg.CookieDomain,
		MaxAge:   int(c.cfg.CookieMaxAge.Seconds()),
		Expires:  c.now().Add(c.cfg.CookieMaxAge),
		HTTPOnly: true,
		Secure:   ctx.Protocol() == "https",
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	return vid
}

func validVisitorID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// newID returns 128 random bits in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// basicUser returns the user name of a Basic Authorization header.
func basicUser(h string) (string, bool) {
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", false
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user, user != ""
}
