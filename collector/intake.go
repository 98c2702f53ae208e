package collector

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/ecrm/ecrm/internal/enrich"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/web"
)

// Response is the answer to an intake request.
type Response struct {
	// Error says why nothing was stored, when nothing was.
	Error string `json:"error,omitempty"`
	// Accepted counts the events stored.
	Accepted int `json:"accepted"`
	// Rejected lists the events not stored because they were invalid.
	Rejected []event.Rejection `json:"rejected"`
	// Dropped counts valid events not stored by privacy policy (consent,
	// Do Not Track, Global Privacy Control, opt-out).
	Dropped int `json:"dropped,omitempty"`
}

func (c *Collector) batch(ctx *fiber.Ctx) error {
	// Properties, traits and context stay the client's checked JSON text
	// (see event.DecodeBatchRaw), but for what the collector edits.
	b, err := event.DecodeBatchRaw(body(ctx))
	if err != nil {
		c.count["malformed"].Inc()
		return web.Errorf(fiber.StatusBadRequest, err.Error())
	}
	defer b.Release() // the answer is written and the records copied by then
	s, err := c.site(ctx, b.WriteKey)
	if err != nil {
		return err
	}
	return c.accept(ctx, s, b.Events, b.Index, b.Rejected)
}

func (c *Collector) single(typ string) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		// As for batches: properties, traits and context stay the client's
		// checked JSON text (see event.DecodeSingleRaw).
		e, key, err := event.DecodeSingleRaw(body(ctx), typ)
		if errors.Is(err, event.ErrMalformed) {
			c.count["malformed"].Inc()
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		s, aerr := c.site(ctx, key)
		if aerr != nil {
			return aerr
		}
		if err != nil {
			c.count["invalid"].Inc()
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		return c.accept(ctx, s, []*event.Event{e}, []int{0}, nil)
	}
}

// body returns the request's body, decoded when its Content-Encoding says
// so, as ctx.Body() does; without going through every header, as Body
// does, for a body that is not encoded.
func body(ctx *fiber.Ctx) []byte {
	if len(ctx.Request().Header.ContentEncoding()) == 0 {
		return ctx.Request().Body()
	}
	return ctx.Body()
}

// site authenticates the request by write key (Basic-auth user name, else
// the given key from the body or query) and checks the page's origin.
func (c *Collector) site(ctx *fiber.Ctx, key string) (site.Site, error) {
	if u, ok := basicUser(ctx.Get(fiber.HeaderAuthorization)); ok {
		key = u
	}
	if key == "" {
		c.count["unauthorized"].Inc()
		return site.Site{}, web.Errorf(fiber.StatusUnauthorized, "write key required: send it as the Basic-auth user name or as writeKey in the body")
	}
	s, err := c.sites.ByWriteKey(key)
	if err != nil {
		c.count["unauthorized"].Inc()
		return site.Site{}, web.Errorf(fiber.StatusUnauthorized, "write key is not valid")
	}
	origin := ctx.Get(fiber.HeaderOrigin)
	if !s.AllowsOrigin(origin) {
		c.count["origin"].Inc()
		return site.Site{}, web.Errorf(fiber.StatusForbidden, "origin "+clip(origin)+" may not send hits for this site")
	}
	c.cors(ctx, origin)
	return s, nil
}

// accept applies the site's privacy policy, enriches and publishes the
// valid events, and answers with what happened to each.
// index holds each event's position in the request, for rejections.
// It reuses events' array for the valid ones.
func (c *Collector) accept(ctx *fiber.Ctx, s site.Site, events []*event.Event, index []int, rejected []event.Rejection) error {
	if rejected == nil {
		rejected = []event.Rejection{}
	}
	now := c.now().UTC()
	valid := events[:0] // overwrites only what was looked at
	for i, e := range events {
		// Timestamps are judged against the client's own clock when it
		// said what time it sent them, else against ours.
		ref := e.SentAt
		if ref.IsZero() {
			ref = now
		}
		if err := e.ValidateTime(ref); err != nil {
			rejected = append(rejected, event.Rejection{Index: index[i], Message: err.Error()})
			continue
		}
		valid = append(valid, e)
	}
	events = valid
	if ctx.Cookies(c.cfg.OptOutCookie) == "1" {
		c.count["optout"].Add(float64(len(events)))
		return respond(ctx, fiber.StatusOK, Response{Accepted: 0, Rejected: rejected, Dropped: len(events)})
	}
	tracked := c.trackingAllowed(ctx, s)
	var keepsArr [16]bool
	keeps := keepsArr[:0]
	if len(events) > len(keepsArr) {
		keeps = make([]bool, 0, len(events))
	}
	keeps = keeps[:len(events)]
	anyKept := false
	for i, e := range events {
		keeps[i] = tracked && hasConsent(s, e)
		anyKept = anyKept || keeps[i]
	}
	// The visitor cookie and the IP only for a request with consent.
	var vid, ip string
	if anyKept {
		var https bool
		ip, https = c.client(ctx)
		vid = c.visitor(ctx, https)
	}
	mp := msgsPool.Get().(*[]kafka.Message)
	defer putMsgs(mp)
	msgs := (*mp)[:0]
	dropped := 0
	scratch := encodeBufs.Get().(*[]byte)
	defer putEncodeBuf(scratch)
	for i, e := range events {
		keep := keeps[i]
		if !keep && policy(s) == site.PolicyDrop {
			dropped++
			continue
		}
		c.enrich(ctx, e, s, vid, ip, now)
		key := e.Key()
		if !keep {
			anonymize(e)
			key = e.MessageID
		}
		kv, err := e.AppendJSON(append((*scratch)[:0], key...))
		*scratch = kv
		if err != nil {
			return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
		}
		msgs = append(msgs, kafka.NewPooled(c.topic, kv, len(key), now))
	}
	*mp = msgs
	if len(msgs) > 0 {
		if err := c.pub.Publish(ctx.UserContext(), msgs...); err != nil {
			c.count["unavailable"].Add(float64(len(msgs)))
			if errors.Is(err, relay.ErrFull) {
				ctx.Set(fiber.HeaderRetryAfter, "30")
				return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "hits cannot be stored right now; retry later", Err: err}
			}
			return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
		}
	}
	c.accepted.Add(float64(len(msgs)))
	if len(rejected) > 0 {
		c.count["invalid"].Add(float64(len(rejected)))
	}
	if dropped > 0 {
		c.count["consent"].Add(float64(dropped))
	}
	slices.SortFunc(rejected, func(a, b event.Rejection) int { return a.Index - b.Index })
	res := Response{Accepted: len(msgs), Rejected: rejected, Dropped: dropped}
	if len(msgs) == 0 && dropped == 0 && len(rejected) > 0 {
		res.Error = "no event of the batch is valid"
		return respond(ctx, fiber.StatusBadRequest, res)
	}
	return respond(ctx, fiber.StatusOK, res)
}

// respond answers res with status code, as ctx.Status(code).JSON(res)
// would; without reflection when nothing was rejected.
func respond(ctx *fiber.Ctx, code int, res Response) error {
	ctx.Status(code)
	var buf [96]byte
	b, ok := appendResponse(buf[:0], res)
	if !ok {
		return ctx.JSON(res)
	}
	ctx.Response().SetBody(b) // copies
	ctx.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return nil
}

// appendResponse appends the JSON encoding of res, as json.Marshal writes
// it, when it has no error and rejects nothing; else it reports false.
func appendResponse(dst []byte, res Response) ([]byte, bool) {
	if res.Error != "" || res.Rejected == nil || len(res.Rejected) > 0 {
		return dst, false
	}
	dst = append(dst, `{"accepted":`...)
	dst = strconv.AppendInt(dst, int64(res.Accepted), 10)
	dst = append(dst, `,"rejected":[]`...)
	if res.Dropped != 0 {
		dst = append(dst, `,"dropped":`...)
		dst = strconv.AppendInt(dst, int64(res.Dropped), 10)
	}
	return append(dst, '}'), true
}

// msgsPool holds the slices an intake request gathers its records in; the
// publisher copies them.
var msgsPool = sync.Pool{New: func() any { return new([]kafka.Message) }}

func putMsgs(mp *[]kafka.Message) {
	clear(*mp) // let the records go
	*mp = (*mp)[:0]
	if cap(*mp) <= event.MaxBatchEvents {
		msgsPool.Put(mp)
	}
}

// encodeBufs holds buffers an event is encoded in before it is copied to a
// record of its exact size.
var encodeBufs = sync.Pool{New: func() any { return new([]byte) }}

// putEncodeBuf returns a buffer of encodeBufs, unless an outsized event
// grew it.
func putEncodeBuf(b *[]byte) {
	if cap(*b) <= event.MaxEventBytes*2 {
		encodeBufs.Put(b)
	}
}

// enrich adds what the collector knows to an event: receive time, site,
// visitor id, anonymised IP, parsed user agent and bot flag, and a message
// id where the client sent none. The client's clock is corrected: the
// delay between the event and its sending is trusted, the client's idea
// of now is not.
func (c *Collector) enrich(ctx *fiber.Ctx, e *event.Event, s site.Site, vid, ip string, now time.Time) {
	e.ReceivedAt = now
	e.SiteID = s.ID
	e.VisitorID = vid
	e.IP = ip
	if e.MessageID == "" {
		e.MessageID = newID()
	}
	switch {
	case e.Timestamp.IsZero():
		e.Timestamp = now
	case !e.SentAt.IsZero():
		e.Timestamp = now.Add(e.Timestamp.Sub(e.SentAt))
	}
	if e.ValidateTime(now) != nil {
		e.Timestamp = now
	}
	if e.ContextHas("ip") {
		// Decoded, so that every ip the text holds, repeated or not, is
		// gone but the map's one.
		m := e.ContextMap()
		if raw, ok := m["ip"].(string); ok {
			m["ip"] = enrich.AnonymizeIPString(raw)
		}
	}
	uaString, ok := e.ContextString("userAgent")
	if !ok || uaString == "" {
		uaString = utils.UnsafeString(ctx.Request().Header.UserAgent()) // Parse copies what it keeps
	}
	ua := c.ua.Parse(uaString)
	e.UA = &event.UA{Browser: ua.Browser, Version: ua.Version, OS: ua.OS, Device: ua.Device}
	e.Bot = ua.Bot
}

// visitor returns the visitor id from the server-set cookie, creating one
// when absent, and (re)sets the cookie so it lives 13 months from now.
// Unlike the tag's own cookie, an HttpOnly cookie set by the server is not
// capped at 7 days by Safari.
// https says whether the page talks to the collector over https (Secure).
func (c *Collector) visitor(ctx *fiber.Ctx, https bool) string {
	vid := ctx.Cookies(c.cfg.CookieName)
	if !validVisitorID(vid) {
		vid = newID()
	}
	c.setCookie(ctx, c.cfg.CookieName, vid, c.cfg.CookieMaxAge, https)
	return vid
}

// client returns the client's address, anonymised, and whether the page
// talks to the collector over https: what enrich.AnonymizeIPString of
// ctx.IP() and ctx.Protocol() say, asking once whether the peer is a
// trusted proxy.
func (c *Collector) client(ctx *fiber.Ctx) (ip string, https bool) {
	if c.proxyTrusted(ctx) {
		return enrich.AnonymizeIPString(ctx.IP()), ctx.Protocol() == "https"
	}
	// The peer's own address and connection, as IP and Protocol answer
	// for a peer that is no trusted proxy.
	https = ctx.Context().IsTLS()
	addr, ok := netip.AddrFromSlice(ctx.Context().RemoteIP())
	if !ok {
		return "", https
	}
	return enrich.AnonymizeIP(addr).String(), https
}

// proxyTrusted is ctx.IsProxyTrusted, without formatting the peer's
// address to look it up when the app trusts no proxy at all (a collector
// that browsers reach directly).
func (c *Collector) proxyTrusted(ctx *fiber.Ctx) bool {
	app := ctx.App()
	t := c.trust.Load()
	if t == nil || t.app != app {
		cfg := app.Config()
		t = &proxyTrust{app: app, none: cfg.EnableTrustedProxyCheck && len(cfg.TrustedProxies) == 0}
		c.trust.Store(t)
	}
	if t.none {
		return false
	}
	return ctx.IsProxyTrusted()
}

// proxyTrust says whether app trusts no proxy.
type proxyTrust struct {
	app  *fiber.App
	none bool
}

// setCookie sets a first-party, HttpOnly cookie, Secure when the page
// talks https; a maxAge of zero or less deletes it.
func (c *Collector) setCookie(ctx *fiber.Ctx, name, value string, maxAge time.Duration, https bool) {
	ck := &fiber.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Domain:   c.cfg.CookieDomain,
		MaxAge:   int(maxAge.Seconds()),
		HTTPOnly: true,
		Secure:   https,
		SameSite: fiber.CookieSameSiteLaxMode,
	}
	switch {
	case maxAge <= 0:
		ck.MaxAge, ck.Expires = -1, time.Unix(0, 0)
	case ck.MaxAge == 0:
		// fasthttp writes Expires only without a Max-Age: not worth
		// reading the clock for otherwise.
		ck.Expires = c.now().Add(maxAge)
	}
	ctx.Cookie(ck)
}

// validVisitorID reports whether s is a visitor id: 32 hex digits, in
// either case.
func validVisitorID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if !hexDigit[s[i]] {
			return false
		}
	}
	return true
}

// hexDigit holds the hexadecimal digits, in either case.
var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

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

// clip shortens client input echoed in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
