package personalize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/web"
)

// Limits of a catalog import request.
const (
	// CatalogBodyLimit is the largest body of POST /v1/catalog.
	CatalogBodyLimit = 16 << 20
	// CatalogBodyLimitName says it in messages.
	CatalogBodyLimitName = "16 MB"
	// MaxCatalogItems is the most lines (items and rejected lines) of one
	// request; `ecrm import catalog` sends bigger files in batches.
	MaxCatalogItems = 10_000
)

// CatalogHandler applies the catalog topic's records to cat: an item's
// JSON imports it, a tombstone removes the import.
func CatalogHandler(cat *catalog.Catalog) configtopic.Handler {
	return func(id string, value []byte) error {
		if value == nil {
			cat.Unimport(id)
			return nil
		}
		var it catalog.Item
		if err := json.Unmarshal(value, &it); err != nil {
			return err
		}
		if it.ID != id {
			return fmt.Errorf("item id %q differs from the record key", it.ID)
		}
		if err := it.Validate(); err != nil {
			return err
		}
		return cat.Import(it)
	}
}

// CatalogAdmin serves the catalog admin API: imported items go to the
// compacted catalog topic (key the item id), which every personalize
// replica follows.
type CatalogAdmin struct {
	cat   *catalog.Catalog
	pub   Publisher
	topic string
	// caughtUp, when set, returns once this replica has applied everything
	// on the topic, so an admin reads their own writes at once.
	caughtUp func(context.Context) error
	log      *slog.Logger
}

// CatalogOptions are what a CatalogAdmin works with.
type CatalogOptions struct {
	Catalog *catalog.Catalog
	// Pub must wait for acks.
	Pub Publisher
	// Topic is the catalog topic.
	Topic string
	// CaughtUp is the catalog topic watcher's (configtopic.Watcher.CaughtUp);
	// nil answers without waiting for the replica to apply the writes.
	CaughtUp func(context.Context) error
	Logger   *slog.Logger
}

// NewCatalogAdmin returns the admin side of the catalog.
func NewCatalogAdmin(o CatalogOptions) *CatalogAdmin {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &CatalogAdmin{cat: o.Catalog, pub: o.Pub, topic: o.Topic, caughtUp: o.CaughtUp, log: logger}
}

// Routes mounts POST /v1/catalog and GET|DELETE /v1/catalog/{id} on r
// behind auth. POST takes bodies up to CatalogBodyLimit only where the app
// lets it (web.LargeBody).
func (a *CatalogAdmin) Routes(r fiber.Router, auth fiber.Handler) {
	g := r.Group("/v1/catalog", auth)
	g.Post("", a.importItems)
	g.Get("/:id", a.get)
	g.Delete("/:id", a.delete)
}

// Rejection is a line of an import that was not taken, and why.
type Rejection struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// ImportResult is the answer to POST /v1/catalog.
type ImportResult struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
}

// importFormat maps a request's Content-Type to an import format.
func importFormat(contentType string) (catalog.Format, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, web.Errorf(fiber.StatusUnsupportedMediaType, "Content-Type must be text/csv, application/x-ndjson or application/json (an array of items)")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return 0, web.Errorf(fiber.StatusUnsupportedMediaType, "the body must be UTF-8")
	}
	switch mt {
	case "text/csv":
		return catalog.CSV, nil
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return catalog.NDJSON, nil
	case "application/json":
		return catalog.JSON, nil
	}
	return 0, web.Errorf(fiber.StatusUnsupportedMediaType, "Content-Type must be text/csv, application/x-ndjson or application/json (an array of items)")
}

// importItems answers POST /v1/catalog: it reads the whole body, then
// publishes its valid items to the catalog topic, acked, and lists the
// lines it rejected. A body with no valid item is a 400 and publishes
// nothing.
func (a *CatalogAdmin) importItems(c *fiber.Ctx) error {
	format, err := importFormat(c.Get(fiber.HeaderContentType))
	if err != nil {
		return err
	}
	// The decoder copies what it keeps: nothing refers to Fiber's buffer
	// once the handler returns.
	d := catalog.NewDecoder(bytes.NewReader(c.Body()), format)
	var items []catalog.Item
	rejected := []Rejection{}
	for n := 0; ; n++ {
		rec, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return web.Errorf(fiber.StatusBadRequest, err.Error())
		}
		if n == MaxCatalogItems {
			return web.Errorf(fiber.StatusBadRequest, fmt.Sprintf("more than %d items in one request: send them in batches (ecrm import catalog does)", MaxCatalogItems))
		}
		if rec.Err != nil {
			rejected = append(rejected, Rejection{Line: rec.Line, Error: rec.Err.Error()})
			continue
		}
		items = append(items, rec.Item)
	}
	if len(items) == 0 {
		msg := "the body holds no item"
		if len(rejected) > 0 {
			msg = fmt.Sprintf("no valid item: line %d: %s", rejected[0].Line, rejected[0].Error)
		}
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": msg, "rejected": rejected})
	}
	msgs := make([]kafka.Message, len(items))
	for i, it := range items {
		value, err := json.Marshal(it)
		if err != nil {
			return &web.Error{Code: fiber.StatusInternalServerError, Msg: "internal error", Err: err}
		}
		msgs[i] = kafka.Message{Topic: a.topic, Key: []byte(it.ID), Value: value}
	}
	if err := a.write(c.UserContext(), msgs...); err != nil {
		return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the items could not be stored; retry later", Err: err}
	}
	return c.JSON(ImportResult{Accepted: len(items), Rejected: rejected})
}

// itemID reads the path's item id.
func itemID(c *fiber.Ctx) (string, error) {
	id, err := url.PathUnescape(c.Params("id"))
	if err != nil || id == "" || len(id) > catalog.MaxIDBytes {
		return "", web.Errorf(fiber.StatusBadRequest, fmt.Sprintf("the item id must be a path segment of 1 to %d bytes", catalog.MaxIDBytes))
	}
	return strings.Clone(id), nil // Fiber reuses the request's memory
}

// CatalogItem is the answer to GET /v1/catalog/{id}: the item as
// recommendations carry it (the import over what product events taught),
// and whether it was imported.
type CatalogItem struct {
	catalog.Item
	Available bool `json:"available"`
	Imported  bool `json:"imported"`
}

func (a *CatalogAdmin) get(c *fiber.Ctx) error {
	id, err := itemID(c)
	if err != nil {
		return err
	}
	it, ok := a.cat.Get(id)
	if !ok {
		return web.Errorf(fiber.StatusNotFound, "no item with that id, learned or imported")
	}
	_, imported := a.cat.Imported(id)
	return c.JSON(CatalogItem{Item: it, Available: !it.Unavailable, Imported: imported})
}

// delete answers DELETE /v1/catalog/{id}: it writes the item's tombstone
// to the catalog topic, removing the import everywhere. What product events
// taught about the item stays learned (and recommendable); to keep an item
// out of recommendations, import it with available=false instead.
func (a *CatalogAdmin) delete(c *fiber.Ctx) error {
	id, err := itemID(c)
	if err != nil {
		return err
	}
	if _, ok := a.cat.Imported(id); !ok {
		return web.Errorf(fiber.StatusNotFound, "no imported item with that id")
	}
	if err := a.write(c.UserContext(), kafka.Message{Topic: a.topic, Key: []byte(id), Value: nil}); err != nil {
		return &web.Error{Code: fiber.StatusServiceUnavailable, Msg: "the item could not be deleted; retry later", Err: err}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// write publishes msgs, acked, then waits (a few seconds at most) until
// this replica has applied them from the topic, so that the admin reads
// what they wrote. The catalog is changed by the topic watcher alone: every
// replica applies the same records in the topic's order.
func (a *CatalogAdmin) write(ctx context.Context, msgs ...kafka.Message) error {
	if err := a.pub.Publish(ctx, msgs...); err != nil {
		return err
	}
	if a.caughtUp != nil {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := a.caughtUp(wctx); err != nil {
			// Stored all the same: the replica applies it shortly.
			a.log.Warn("catalog write not yet applied on this replica", "err", err)
		}
	}
	return nil
}
