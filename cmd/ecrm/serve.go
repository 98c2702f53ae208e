package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ecrm/ecrm/collector"
	"github.com/ecrm/ecrm/internal/broker"
	"github.com/ecrm/ecrm/internal/campaign"
	"github.com/ecrm/ecrm/internal/catalog"
	"github.com/ecrm/ecrm/internal/configtopic"
	"github.com/ecrm/ecrm/internal/demo"
	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/learner"
	"github.com/ecrm/ecrm/internal/profile"
	"github.com/ecrm/ecrm/internal/profiler"
	"github.com/ecrm/ecrm/internal/recommend"
	"github.com/ecrm/ecrm/internal/relay"
	"github.com/ecrm/ecrm/internal/segment"
	"github.com/ecrm/ecrm/internal/spool"
	"github.com/ecrm/ecrm/internal/statsview"
	"github.com/ecrm/ecrm/internal/store"
	"github.com/ecrm/ecrm/internal/view"
	"github.com/ecrm/ecrm/internal/web"
	"github.com/ecrm/ecrm/personalize"
	sdkjs "github.com/ecrm/ecrm/sdk-js"
)

// stopper is one step of the ordered shutdown.
type stopper struct {
	name string
	fn   func(ctx context.Context) error
}

// serve starts the roles of cmd, blocks until ctx is done, then shuts them
// down in order: stop taking requests, flush producers, stop consumers
// (their batches commit or are replayed later), close stores, close the
// broker.
func serve(ctx context.Context, cmd string, cfg *config, stdout, stderr io.Writer) (err error) {
	level, _ := cfg.level()
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	logger = logger.With("role", cmd)
	roles := map[string]bool{
		"collector":   cmd == "run" || cmd == "collector",
		"profiler":    cmd == "run" || cmd == "profiler",
		"personalize": cmd == "run" || cmd == "personalize",
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	// Shutdown steps, run last-registered first.
	var stops []stopper
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			s := stops[i]
			if serr := s.fn(sctx); serr != nil {
				logger.Error("shutdown step failed", "step", s.name, "err", serr)
				err = errors.Join(err, fmt.Errorf("shutdown %s: %w", s.name, serr))
			} else {
				logger.Debug("shutdown step done", "step", s.name)
			}
		}
		logger.Info("stopped")
	}()

	// Definitions on the config topic, by kind, for the roles that need them.
	configs := map[string]configtopic.Handler{}
	registry, err := cfg.sites()
	if err != nil {
		return err
	}
	if roles["collector"] || roles["personalize"] {
		configs["site"] = collector.SiteHandler(registry)
	}
	segments := new(segment.Registry)
	campaigns := new(campaign.Registry)
	if roles["personalize"] {
		configs["campaign"] = personalize.CampaignHandler(campaigns)
	}
	if roles["profiler"] || roles["personalize"] {
		configs["segment"] = personalize.SegmentHandler(segments)
	}

	brokers := splitList(cfg.KafkaBrokers)
	if cmd == "run" {
		b, err := broker.Start(cfg.BrokerAddr, filepath.Join(cfg.DataDir, "kafka"))
		if err != nil {
			return err
		}
		stops = append(stops, stopper{"broker", func(context.Context) error { b.Close(); return nil }})
		brokers = []string{b.Addr()}
	}
	kcfg := cfg.kafka(brokers)
	if err := kcfg.Validate(); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = kafka.EnsureTopics(tctx, kcfg)
	cancel()
	if err != nil {
		return err
	}
	topics := kcfg.Topics()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	checks := []web.Check{{Name: "kafka", Fn: func(ctx context.Context) error { return kafka.Ping(ctx, kcfg) }}}

	// background runs a consumer until its own context is cancelled by
	// the shutdown step registered for it.
	background := func(name string, run func(ctx context.Context) error) {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := run(rctx); err != nil {
				logger.Error("stopped with an error", "part", name, "err", err)
			}
		})
		stops = append(stops, stopper{name, func(sctx context.Context) error {
			cancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
				return nil
			case <-sctx.Done():
				return fmt.Errorf("%s did not stop in time", name)
			}
		}})
	}
	openStore := func(name string) (*store.DB, error) {
		db, err := store.Open(filepath.Join(cfg.DataDir, name), logger)
		if err != nil {
			return nil, err
		}
		stops = append(stops, stopper{name + " store", func(context.Context) error { return db.Close() }})
		return db, nil
	}

	if roles["profiler"] {
		profile.Margin, profile.CostPerOrder = cfg.Margin, cfg.CostPerOrder
		db, err := openStore("profiler")
		if err != nil {
			return err
		}
		out := kafka.NewProducer(kcfg, false, kafka.ProducerOptions{Fast: true, BatchSize: 64})
		stops = append(stops, stopper{"profiler producer", func(context.Context) error { return out.Close() }})
		p := profiler.New(kcfg, profiler.Config{GroupID: cfg.GroupID, Segments: segments}, db, out, logger, reg)
		background("profiler", p.Run)
		checks = append(checks, web.Check{Name: "profiler", Fn: func(context.Context) error {
			if !p.Ready() {
				return errors.New("not yet a member of the consumer group")
			}
			return nil
		}})
	}

	var pers *personalize.Server
	var segAdmin *personalize.SegmentAdmin
	var decisions *personalize.Decisions
	var console *personalize.Console
	var catAdmin *personalize.CatalogAdmin
	if roles["personalize"] {
		db, err := openStore("personalize")
		if err != nil {
			return err
		}
		v, err := view.New(kcfg, db, view.Options{CacheBytes: int64(cfg.HotSetMB) << 20}, logger, reg)
		if err != nil {
			return err
		}
		stops = append(stops, stopper{"profile cache", func(context.Context) error { v.Close(); return nil }})
		background("view", v.Run)
		checks = append(checks, web.Check{Name: "view", Fn: func(context.Context) error {
			if !v.Ready() {
				return errors.New("not yet tailing profiles and identities")
			}
			return nil
		}})
		configOut := kafka.NewProducer(kcfg, false, kafka.ProducerOptions{})
		stops = append(stops, stopper{"personalize producer", func(context.Context) error { return configOut.Close() }})
		model, err := recommend.New(recommend.Config{})
		if err != nil {
			return err
		}
		cat := new(catalog.Catalog)
		lrn := learner.New(kcfg, model, cat, filepath.Join(cfg.DataDir, "model"), logger)
		if err := lrn.Load(); err != nil {
			return err
		}
		background("learner", func(ctx context.Context) error { return lrn.Run(ctx, time.Minute) })
		// Imported items: every replica reads the whole catalog topic and
		// follows it; the learned ones come back from the model snapshot.
		catWatcher := configtopic.NewTopic(kcfg, topics.Catalog, configtopic.WholeKeys("item"),
			map[string]configtopic.Handler{"item": personalize.CatalogHandler(cat)}, logger)
		background("catalog watcher", catWatcher.Run)
		checks = append(checks, web.Check{Name: "catalog", Fn: func(context.Context) error {
			if !catWatcher.Ready() {
				return errors.New("imported items not yet read from the catalog topic")
			}
			return nil
		}})
		catAdmin = personalize.NewCatalogAdmin(personalize.CatalogOptions{Catalog: cat, Pub: configOut, Topic: topics.Catalog, CaughtUp: catWatcher.CaughtUp, Logger: logger})
		pers = personalize.New(personalize.Options{View: v, Pub: configOut, Topics: topics, Model: model, Catalog: cat, Sites: registry})
		statsView := statsview.New(kcfg, logger)
		background("stats view", statsView.Run)
		exposures := kafka.NewProducer(kcfg, true, kafka.ProducerOptions{Fast: true, OnError: func(msgs []kafka.Message, err error) {
			logger.Error("campaign exposures not recorded", "count", len(msgs), "err", err)
		}})
		stops = append(stops, stopper{"exposure producer", func(context.Context) error { return exposures.Close() }})
		decisions = personalize.NewDecisions(pers, campaigns, exposures, configOut, statsView)
		segAdmin = personalize.NewSegmentAdmin(segments, configOut, topics.Config)
		console = personalize.NewConsole(personalize.ConsoleOptions{View: v, Stats: statsView, Segments: segments, Campaigns: campaigns, Recent: lrn.Recent, Server: pers})
	}

	var col *collector.Collector
	var sites *collector.SiteAdmin
	if roles["collector"] {
		sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), spool.Options{
			MaxBytes: int64(cfg.SpoolMaxBytes) << 20, Sync: spoolSync(cfg.SpoolSync), Logger: logger})
		if err != nil {
			return err
		}
		rl := relay.New(kcfg, sp, relay.Options{}, logger, reg)
		go rl.Run()
		stops = append(stops, stopper{"collector relay", rl.Close})
		configOut := kafka.NewProducer(kcfg, false, kafka.ProducerOptions{})
		stops = append(stops, stopper{"config producer", func(context.Context) error { return configOut.Close() }})
		sites = collector.NewSiteAdmin(registry, configOut, topics.Config)
		col = collector.New(collector.Config{CookieDomain: cfg.CookieDomain}, registry, rl, topics.Hits, logger, reg)
	}

	if len(configs) > 0 {
		watcher := configtopic.New(kcfg, configs, logger)
		background("config watcher", watcher.Run)
		checks = append(checks, web.Check{Name: "config", Fn: func(context.Context) error {
			if !watcher.Ready() {
				return errors.New("definitions not yet read from the config topic")
			}
			return nil
		}})
	}

	token, err := adminToken(cfg)
	if err != nil {
		return err
	}

	var large []web.LargeBody
	if catAdmin != nil {
		// Catalog imports are bigger than hits: the admin (only) may send
		// up to 16 MB.
		large = append(large, web.LargeBody{Method: fiber.MethodPost, Path: "/v1/catalog", Limit: personalize.CatalogBodyLimit,
			Name: personalize.CatalogBodyLimitName, ReadTimeout: 2 * time.Minute, Admit: web.HasAdminToken(token)})
	}
	app := web.NewApp(logger, splitList(cfg.TrustedProxies), large...)
	auth := web.AdminAuth(token)
	web.Ops(app, reg, checks)
	if col != nil {
		col.Routes(app)
		app.Get("/ecrm.js", collector.TagHandler(sdkjs.Tag))
	}
	if cmd == "run" && cfg.Demo {
		app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/demo/", fiber.StatusFound) })
		app.Use("/demo", filesystem.New(filesystem.Config{Root: http.FS(demo.FS()), Index: "index.html"}))
	}
	if pers != nil {
		pers.AdminRoutes(app, auth)
		pers.PageRoutes(app)
	}
	if sites != nil {
		sites.Routes(app, auth)
	}
	if segAdmin != nil {
		segAdmin.Routes(app, auth)
	}
	if decisions != nil {
		decisions.Routes(app, auth)
	}
	if console != nil {
		console.Routes(app, auth)
	}
	if catAdmin != nil {
		catAdmin.Routes(app, auth)
	}
	app.Use(func(c *fiber.Ctx) error {
		return web.Errorf(fiber.StatusNotFound, "no route "+c.Method()+" "+c.Path())
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- app.Listener(ln) }()
	// Registered last, so it runs first: stop taking requests.
	stops = append(stops, stopper{"http", func(sctx context.Context) error { return app.ShutdownWithContext(sctx) }})

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "ecrm %s listening on %s\n", cmd, base)
	if cmd == "run" {
		fmt.Fprintf(stdout, "  kafka broker   %s\n", brokers[0])
		if cfg.Demo {
			fmt.Fprintf(stdout, "  demo shop      %s/demo/   (write key \"demo\")\n", base)
		}
	}
	if pers != nil || sites != nil {
		fmt.Fprintf(stdout, "  admin token    %s\n", token)
	}
	logger.Info("started", "addr", base, "brokers", strings.Join(brokers, ","))

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		return nil
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	}
}

// adminToken returns ECRM_ADMIN_TOKEN, or the token kept in the data dir,
// or a new random one that it keeps there (mode 0600).
func adminToken(cfg *config) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	path := filepath.Join(cfg.DataDir, "admin-token")
	if data, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(data)); len(t) >= 16 {
			return t, nil
		}
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	t := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep admin token: %w", err)
	}
	return t, nil
}

func spoolSync(s string) spool.SyncPolicy {
	switch s {
	case "always":
		return spool.SyncAlways
	case "never":
		return spool.SyncNever
	}
	return spool.SyncInterval
}
