package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/kafka"
	"github.com/ecrm/ecrm/internal/site"
)

// config is every setting of a role, from flags with an ECRM_* environment
// fallback. Which flags a subcommand has depends on its roles.
type config struct {
	Addr            string
	DataDir         string
	BrokerAddr      string // run only: the embedded broker's listener
	KafkaBrokers    string // roles only: the real cluster
	TopicPrefix     string
	Partitions      int
	Replication     int
	Demo            bool
	SitesFile       string
	GroupID         string
	ShutdownTimeout time.Duration
	LogLevel        string
	TrustedProxies  string
	CookieDomain    string
	SpoolMaxBytes   int
	SpoolSync       string
	Margin          float64
	CostPerOrder    float64
	HotSetMB        int
	AdminToken      string // ECRM_ADMIN_TOKEN only: never a flag, never in argv
}

// flagSet declares the flags of subcommand cmd on a new FlagSet whose
// defaults come from getenv where set.
func flagSet(cmd string, cfg *config, getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ecrm "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, env, def, help string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, help+" Environment: "+env+".")
	}
	integer := func(p *int, name, env string, def int, help string) {
		if v, err := strconv.Atoi(getenv(env)); err == nil {
			def = v
		}
		fs.IntVar(p, name, def, help+" Environment: "+env+".")
	}
	boolean := func(p *bool, name, env string, def bool, help string) {
		if v, err := strconv.ParseBool(getenv(env)); err == nil {
			def = v
		}
		fs.BoolVar(p, name, def, help+" Environment: "+env+".")
	}
	float := func(p *float64, name, env string, def float64, help string) {
		if v, err := strconv.ParseFloat(getenv(env), 64); err == nil {
			def = v
		}
		fs.Float64Var(p, name, def, help+" Environment: "+env+".")
	}
	duration := func(p *time.Duration, name, env string, def time.Duration, help string) {
		if v, err := time.ParseDuration(getenv(env)); err == nil {
			def = v
		}
		fs.DurationVar(p, name, def, help+" Environment: "+env+".")
	}

	defAddr := map[string]string{"run": "127.0.0.1:8080", "collector": "127.0.0.1:8081", "profiler": "127.0.0.1:8082", "personalize": "127.0.0.1:8083"}[cmd]
	str(&cfg.Addr, "addr", "ECRM_ADDR", defAddr, "The HTTP listen address, host:port; port 0 picks a free port (default "+defAddr+").")
	str(&cfg.DataDir, "data-dir", "ECRM_DATA_DIR", "./data", "The directory for local state: the embedded broker's log, the Pebble stores and the admin token (default ./data).")
	if cmd == "run" {
		str(&cfg.BrokerAddr, "broker-addr", "ECRM_BROKER_ADDR", "127.0.0.1:9092", "The listen address of the embedded Kafka-protocol broker, reachable by any Kafka tool (default 127.0.0.1:9092).")
		boolean(&cfg.Demo, "demo", "ECRM_DEMO", true, "Serve the demo shop at /demo/ and accept its write key \"demo\" (default true).")
	} else {
		str(&cfg.KafkaBrokers, "kafka-brokers", "ECRM_KAFKA_BROKERS", "127.0.0.1:9092", "The Kafka bootstrap brokers, comma-separated host:port (default 127.0.0.1:9092).")
	}
	str(&cfg.TopicPrefix, "topic-prefix", "ECRM_TOPIC_PREFIX", kafka.DefaultTopicPrefix, "The prefix of every topic name, so installations can share a cluster (default \"ecrm.\").")
	integer(&cfg.Partitions, "partitions", "ECRM_PARTITIONS", kafka.DefaultPartitions, "The partition count of topics ecrm creates (default 8).")
	integer(&cfg.Replication, "replication-factor", "ECRM_REPLICATION_FACTOR", 1, "The replication factor of topics ecrm creates (default 1).")
	str(&cfg.SitesFile, "sites", "ECRM_SITES", "", "A JSON file holding an array of sites {\"id\", \"writeKey\", \"origins\"} allowed to send hits (default none).")
	str(&cfg.GroupID, "group-id", "ECRM_GROUP_ID", "ecrm-profiler", "The Kafka consumer group of the profiler (default ecrm-profiler).")
	duration(&cfg.ShutdownTimeout, "shutdown-timeout", "ECRM_SHUTDOWN_TIMEOUT", 15*time.Second, "How long shutdown may take before it gives up on in-flight work (default 15s).")
	str(&cfg.TrustedProxies, "trusted-proxies", "ECRM_TRUSTED_PROXIES", "", "Comma-separated IP addresses or CIDR ranges of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (default none).")
	if cmd == "run" || cmd == "collector" {
		str(&cfg.CookieDomain, "cookie-domain", "ECRM_COOKIE_DOMAIN", "", "The domain of the visitor cookie, for a collector on a subdomain of the site, e.g. shop.com for t.shop.com (default: the collector's host).")
		integer(&cfg.SpoolMaxBytes, "spool-max-mb", "ECRM_SPOOL_MAX_MB", 1024, "How many MiB of hits the local spool holds while Kafka is down before the collector answers 503 (default 1024).")
		str(&cfg.SpoolSync, "spool-sync", "ECRM_SPOOL_SYNC", "interval", "When the spool fsyncs: always (before answering), interval (every 100ms; a machine crash may lose the last 100ms) or never (default interval).")
	}
	if cmd == "run" || cmd == "profiler" {
		float(&cfg.Margin, "margin", "ECRM_MARGIN", 0.3, "The gross margin on revenue, 0 to 1, that value tiers weigh a customer's profit with (default 0.3).")
		float(&cfg.CostPerOrder, "cost-per-order", "ECRM_COST_PER_ORDER", 5, "The cost to serve one order, in the shop's currency, below which margin a customer is unprofitable (default 5).")
	}
	if cmd == "run" || cmd == "personalize" {
		integer(&cfg.HotSetMB, "hot-set-mb", "ECRM_HOT_SET_MB", 256, "How many MiB of decoded profiles personalize keeps in memory for decisions and the console, the visitors seen last (default 256; 0 means the default). A larger hot set decodes returning visitors less often, but every garbage collection marks all of it.")
	}
	str(&cfg.LogLevel, "log-level", "ECRM_LOG_LEVEL", "info", "The least severe log level written: debug, info, warn or error (default info).")
	cfg.AdminToken = getenv("ECRM_ADMIN_TOKEN")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ecrm %s [flags]\n\n%s\n\nFlags:\n", cmd, commands[cmd])
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nThe admin token comes from ECRM_ADMIN_TOKEN; when unset, one is generated and kept in the data dir.")
	}
	return fs
}

// Validate reports whether the configuration can run.
func (c *config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q is not host:port", c.Addr))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	switch c.SpoolSync {
	case "", "always", "interval", "never":
	default:
		errs = append(errs, fmt.Errorf("--spool-sync %q is not always, interval or never", c.SpoolSync))
	}
	if c.Margin < 0 || c.Margin > 1 {
		errs = append(errs, fmt.Errorf("--margin %v must be between 0 and 1", c.Margin))
	}
	if c.HotSetMB < 0 {
		errs = append(errs, fmt.Errorf("--hot-set-mb %d must not be negative", c.HotSetMB))
	}
	if c.CostPerOrder < 0 {
		errs = append(errs, fmt.Errorf("--cost-per-order %v must not be negative", c.CostPerOrder))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("ECRM_ADMIN_TOKEN must be at least 16 characters"))
	}
	return errors.Join(errs...)
}

func (c *config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q is not debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// kafka returns the Kafka configuration for the given bootstrap brokers.
func (c *config) kafka(brokers []string) kafka.Config {
	return kafka.Config{
		Brokers:           brokers,
		TopicPrefix:       c.TopicPrefix,
		Partitions:        c.Partitions,
		ReplicationFactor: c.Replication,
	}.WithDefaults()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sites loads the site registry: the sites file, and the demo site when on.
func (c *config) sites() (*site.Registry, error) {
	reg := new(site.Registry)
	if c.Demo {
		if err := reg.Put(site.Demo); err != nil {
			return nil, err
		}
	}
	if c.SitesFile == "" {
		return reg, nil
	}
	data, err := os.ReadFile(c.SitesFile)
	if err != nil {
		return nil, fmt.Errorf("read sites: %w", err)
	}
	var list []site.Site
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("sites file %s: %w", c.SitesFile, err)
	}
	for _, s := range list {
		if err := reg.Put(s); err != nil {
			return nil, fmt.Errorf("sites file %s: %w", c.SitesFile, err)
		}
	}
	return reg, nil
}
