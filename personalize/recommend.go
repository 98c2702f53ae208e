package personalize

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/event"
	"github.com/ecrm/ecrm/internal/identity"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/recommend"
	"github.com/ecrm/ecrm/internal/site"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
)

// Recommendation is one item of a recommend answer: the catalog's data,
// the score and the reason (the type that found it, or popular).
type Recommendation struct {
	catalog.Item
	Score  float64 `json:"score"`
	Reason string  `json:"reason"`
}

// PageRoutes mounts the routes pages call with the site's write key:
// GET /v1/recommend.
func (s *Server) PageRoutes(r fiber.Router) {
	r.Get("/v1/recommend", s.recommend)
}

// maxContext is how many of the visitor's latest items a request scores.
const maxContext = 10

var recommendTypes = []string{"similar", "together", "personal", "popular", "trending"}

// recommend answers GET /v1/recommend?type=&item=&category=&n=&anonymousId=&userId=&bought=
// from memory. The page's context counts at once: the item on screen, and
// the cart (cart=a,b,c) for "together". The visitor's profile adds their
// recent items (personal) and the items they bought, left out unless
// bought=include (for what people buy again: consumables, refills).
func (s *Server) recommend(c *fiber.Ctx) error {
	if _, err := s.site(c); err != nil {
		return err
	}
	typ := c.Query("type", "personal")
	if !slices.Contains(recommendTypes, typ) {
		return web.Errorf(fiber.StatusBadRequest, "type must be one of "+strings.Join(recommendTypes, ", "))
	}
	n := 10
	if v := c.Query("n"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > 100 {
			return web.Errorf(fiber.StatusBadRequest, "n must be a whole number from 1 to 100")
		}
		n = k
	}
	excludeBought := true
	switch c.Query("bought", "exclude") {
	case "exclude":
	case "include":
		excludeBought = false
	default:
		return web.Errorf(fiber.StatusBadRequest, "bought must be exclude (the default) or include")
	}
	item := strings.Clone(c.Query("item"))
	if len(item) > 256 || len(c.Query("category")) > 256 {
		return web.Errorf(fiber.StatusBadRequest, "item and category must be at most 256 bytes")
	}
	req := recommend.Request{
		Type:      recommend.Type(typ),
		Item:      item,
		Category:  strings.ToLower(c.Query("category")),
		N:         n,
		Available: s.catalog.Available,
	}
	if cart := c.Query("cart"); cart != "" {
		req.Context = strings.Split(strings.Clone(cart), ",")
	}
	if b, ok := s.visitorBrief(c); ok {
		if typ == "personal" && len(req.Context) == 0 {
			recent := b.Recent(make([]string, 0, maxContext+1)) // most recent first
			slices.Reverse(recent)
			req.Context = recent
		}
		if typ == "together" && len(req.Context) == 0 {
			req.Context = b.Cart(nil)
		}
		if excludeBought {
			req.Exclude = b.Bought(req.Exclude)
		}
	}
	if typ == "personal" && item != "" {
		req.Context = append(req.Context, item)
	}
	if len(req.Context) > maxContext {
		// The scoring weights the latest items most; older ones add
		// candidate sessions (cost) more than they add to the answer.
		req.Context = req.Context[len(req.Context)-maxContext:]
	}
	scored := s.model.Recommend(req)
	buf := answerPool.Get().(*answerBuf)
	defer answerPool.Put(buf)
	body, err := appendRecommendations(buf, typ, scored, s.catalog)
	if err != nil {
		return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBody(body) // a copy: buf goes back to the pool
	return nil
}

// answerPool holds the buffers recommend answers are written in.
var answerPool = sync.Pool{New: func() any { return new(answerBuf) }}

// answerBuf is the memory of one answer: its bytes, and its items' ids and
// catalog fields.
type answerBuf struct {
	body   []byte
	ids    []string
	fields [][]byte
}

// appendRecommendations appends the answer {"items": [...], "type": typ}:
// for each scored item, its catalog data (the members the catalog keeps
// encoded, catalog.Catalog.FieldsOf; the id alone for an item the catalog
// does not know), score and reason. These are the bytes json.Marshal
// writes of the Recommendations (a test holds it to that), without
// reflection or encoding the items again: a good part of a recommend
// request's cost.
func appendRecommendations(buf *answerBuf, typ string, scored []recommend.Scored, cat *catalog.Catalog) ([]byte, error) {
	dst := append(buf.body[:0], `{"items":`...)
	if scored == nil {
		dst = append(dst, `null`...)
	} else {
		buf.ids = buf.ids[:0]
		for i := range scored {
			buf.ids = append(buf.ids, scored[i].Item)
		}
		buf.fields = cat.FieldsOf(buf.fields[:0], buf.ids)
		clear(buf.ids) // the pool keeps no item ids alive
		dst = append(dst, '[')
		for i := range scored {
			sc := &scored[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if f := buf.fields[i]; f != nil {
				dst = append(dst, f...)
			} else {
				it := catalog.Item{ID: sc.Item}
				dst = it.AppendFields(dst)
			}
			w := event.NewJSONWriter(append(dst, `,"score":`...))
			w.Float(sc.Score)
			w.Raw(`,"reason":`)
			w.String(sc.Reason)
			w.Raw(`}`)
			var err error
			if dst, err = w.Bytes(); err != nil {
				buf.body = dst
				return dst, err
			}
		}
		clear(buf.fields)
		dst = append(dst, ']')
	}
	w := event.NewJSONWriter(append(dst, `,"type":`...))
	w.String(typ)
	w.Raw(`}`)
	dst, err := w.Bytes()
	buf.body = dst
	return dst, err
}

// visitorBrief returns the brief of the visitor the query names (userId,
// else anonymousId), from the view's memory.
func (s *Server) visitorBrief(c *fiber.Ctx) (view.Brief, bool) {
	for _, id := range []string{identity.User(c.Query("userId")), identity.Anonymous(c.Query("anonymousId"))} {
		if len(id) <= 2 || !identity.Valid(id[2:], nil) {
			continue
		}
		if b, err := s.view.Brief(id); err == nil {
			return b, true
		}
	}
	return view.Brief{}, false
}

// visitorProfile returns the profile of the visitor the query names
// (userId, else anonymousId), or nil.
func (s *Server) visitorProfile(c *fiber.Ctx) *profile.Profile {
	for _, id := range []string{identity.User(c.Query("userId")), identity.Anonymous(c.Query("anonymousId"))} {
		if len(id) <= 2 || !identity.Valid(id[2:], nil) {
			continue
		}
		if p, err := s.view.Lookup(id); err == nil {
			return p
		}
	}
	return nil
}

// site authenticates a page's request by write key: ?writeKey= or the
// Basic-auth user name.
func (s *Server) site(c *fiber.Ctx) (site.Site, error) {
	key := c.Query("writeKey")
	if enc, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Basic "); ok {
		if raw, err := base64.StdEncoding.DecodeString(enc); err == nil {
			key, _, _ = strings.Cut(string(raw), ":")
		}
	}
	if key == "" {
		return site.Site{}, web.Errorf(fiber.StatusUnauthorized, "write key required: send it as ?writeKey= or the Basic-auth user name")
	}
	st, err := s.sites.ByWriteKey(key)
	if err != nil {
		return site.Site{}, web.Errorf(fiber.StatusUnauthorized, "write key is not valid")
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return st, nil
}
