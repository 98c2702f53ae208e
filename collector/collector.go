// Package collector is the HTTP intake of tracking hits: the Segment-spec
// tracking API and pixels. It authenticates the site by write key, checks
// the page's origin, applies the site's privacy policy (consent, Do Not
// Track, Global Privacy Control, opt-out), validates each event, enriches it
// (receive time, clock-skew correction, visitor cookie, anonymised IP,
// parsed user agent, bot flag) and publishes it to the hits topic keyed by
// user id, else anonymous id.
//
// A batch's properties, traits and context go to the hits topic as the
// client's JSON text, checked as it is read (see event.DecodeBatchRaw):
// only the context the collector edits (its ip, a batch's context,
// anonymising) is decoded and written again.
package collector

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecrm/ecrm/internal/enrich"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/site"
)

// Config tunes the collector. The zero value is valid.
type Config struct {
	// CookieName is the server-set visitor cookie (default "ecrm_vid").
	CookieName string
	// OptOutCookie marks a browser that opted out (default "ecrm_optout").
	OptOutCookie string
	// CookieDomain is the cookies' domain, for a collector on a subdomain of
	// the site (t.shop.com serving shop.com); empty: the collector's host.
	CookieDomain string
	// CookieMaxAge is the cookies' lifetime (default 13 months).
	CookieMaxAge time.Duration
}

func (c Config) withDefaults() Config {
	if c.CookieName == "" {
		c.CookieName = "ecrm_vid"
	}
	if c.OptOutCookie == "" {
		c.OptOutCookie = "ecrm_optout"
	}
	if c.CookieMaxAge == 0 {
		c.CookieMaxAge = 395 * 24 * time.Hour
	}
	return c
}

// Publisher takes hits for Kafka. It returns an error wrapping relay.ErrFull
// when it can take no more for now. It must not keep msgs, which the
// collector reuses, once it returns; it may keep the records they hold.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

var (
	_ Publisher = (*kafka.Producer)(nil)
	_ Publisher = (*relay.Relay)(nil)
)

// Collector serves the intake routes. It is safe for concurrent use.
type Collector struct {
	cfg   Config
	sites *site.Registry
	pub   Publisher
	topic string
	ua    *enrich.Parser
	log   *slog.Logger
	now   func() time.Time

	trust atomic.Pointer[proxyTrust] // of the app last seen

	events   *prometheus.CounterVec
	count    map[string]prometheus.Counter // events by result, looked up once
	accepted prometheus.Counter            // count["accepted"]
}

// New returns a collector that publishes hits to topic through pub.
func New(cfg Config, sites *site.Registry, pub Publisher, topic string, logger *slog.Logger, reg prometheus.Registerer) *Collector {
	c := &Collector{
		cfg: cfg.withDefaults(), sites: sites, pub: pub, topic: topic,
		ua: enrich.NewParser(enrich.DefaultCacheSize), log: logger.With("component", "collector"), now: time.Now,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecrm_collector_events_total",
			Help: "Events received, by result: accepted, anonymized, or the reason they were not stored (invalid, malformed, unauthorized, origin, consent, optout, unavailable).",
		}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(c.events)
	}
	c.count = map[string]prometheus.Counter{}
	for _, r := range []string{"accepted", "anonymized", "invalid", "malformed", "unauthorized", "origin", "consent", "optout", "unavailable"} {
		c.count[r] = c.events.WithLabelValues(r)
	}
	c.accepted = c.count["accepted"]
	return c
}

// Routes mounts the tracking API on r.
func (c *Collector) Routes(r fiber.Router) {
	r.Options("/v1/*", c.preflight)
	r.Post("/v1/batch", c.batch)
	for _, typ := range []string{event.TypeTrack, event.TypePage, event.TypeIdentify, event.TypeAlias, event.TypeScreen, event.TypeGroup} {
		r.Post("/v1/"+typ, c.single(typ))
	}
	r.Get("/v1/pixel/track", c.pixel(event.TypeTrack))
	r.Get("/v1/pixel/page", c.pixel(event.TypePage))
	r.Get("/v1/optout", c.optOut)
	r.Get("/v1/optin", c.optIn)
}
