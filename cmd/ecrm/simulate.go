package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ecrm/ecrm/internal/simulate"
)

// simulateCmd runs `ecrm simulate`: synthetic shop traffic from a
// simulated population of visitors, posted to a collector at a fixed rate,
// with a progress line on stderr and a summary on stdout. It stops after
// --events or --duration, or when ctx ends (Ctrl-C), and prints the
// summary in every case.
func simulateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecrm simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(name, env, def, help string) *string {
		if v := getenv(env); v != "" {
			def = v
		}
		return fs.String(name, def, help+" Environment: "+env+".")
	}
	integer := func(name, env string, def int, help string) *int {
		if v, err := strconv.Atoi(getenv(env)); err == nil {
			def = v
		}
		return fs.Int(name, def, help+" Environment: "+env+".")
	}
	float := func(name, env string, def float64, help string) *float64 {
		if v, err := strconv.ParseFloat(getenv(env), 64); err == nil {
			def = v
		}
		return fs.Float64(name, def, help+" Environment: "+env+".")
	}
	duration := func(name, env string, def time.Duration, help string) *time.Duration {
		if v, err := time.ParseDuration(getenv(env)); err == nil {
			def = v
		}
		return fs.Duration(name, def, help+" Environment: "+env+".")
	}
	target := str("target", "ECRM_SIMULATE_TARGET", "http://127.0.0.1:8080", "The collector's base URL; batches go to <target>/v1/batch (default http://127.0.0.1:8080).")
	writeKey := str("write-key", "ECRM_SIMULATE_WRITE_KEY", "demo", "The site's write key, sent as the Basic-auth user name and in the body (default demo, the demo shop's).")
	rate := float("rate", "ECRM_SIMULATE_RATE", 200, "The target rate in events per second, kept open loop by a token bucket whatever the answers (default 200).")
	dur := duration("duration", "ECRM_SIMULATE_DURATION", time.Minute, "How long to send, when --events is 0 (default 60s).")
	events := integer("events", "ECRM_SIMULATE_EVENTS", 0, "How many events to send, then stop; 0 sends for --duration instead (default 0).")
	visitors := integer("visitors", "ECRM_SIMULATE_VISITORS", simulate.DefaultVisitors, fmt.Sprintf("The number of distinct visitors in the simulated population; memory grows with it (default %d).", simulate.DefaultVisitors))
	days := integer("days", "ECRM_SIMULATE_DAYS", simulate.DefaultDays, fmt.Sprintf("How many days of history the run spreads its events over, ending now; events are backdated through timestamp and sentAt (default %d).", simulate.DefaultDays))
	defSeed := uint64(1)
	if v, err := strconv.ParseUint(getenv("ECRM_SIMULATE_SEED"), 10, 64); err == nil {
		defSeed = v
	}
	seed := fs.Uint64("seed", defSeed, "The random seed: the same seed and flags make the same visitors and events; message ids differ between runs so that a collector does not drop a repeated run as duplicates (default 1). Environment: ECRM_SIMULATE_SEED.")
	catalog := str("catalog", "ECRM_SIMULATE_CATALOG", "", "A JSON file with the shop's products, shaped like the demo shop's products.json: [{\"id\", \"name\", \"category\", \"price\", ...}] (default: the demo shop's catalog).")
	siteURL := str("site-url", "ECRM_SIMULATE_SITE_URL", "", "The shop's base URL in page and product URLs (default: <target>/demo/, the demo shop).")
	conc := integer("concurrency", "ECRM_SIMULATE_CONCURRENCY", simulate.DefaultConcurrency, fmt.Sprintf("The most requests in flight at once (default %d).", simulate.DefaultConcurrency))
	timeout := duration("timeout", "ECRM_SIMULATE_TIMEOUT", simulate.DefaultTimeout, "How long one request may take before it counts as an error (default 10s).")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ecrm simulate [flags]\n\n"+
			"Sends realistic synthetic traffic to a collector: a population of visitors coming back over days\n"+
			"on one to three devices, from search, social, email, paid and direct channels, browsing, searching,\n"+
			"filling and abandoning carts, logging in and out, and ordering; plus a few bots. Progress goes to\n"+
			"stderr, the summary (sent, accepted, rejected, errors, latency) to stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	var bad []error
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, fmt.Errorf("--target %q is not an http(s) URL", *target))
	}
	if *writeKey == "" {
		bad = append(bad, errors.New("--write-key must not be empty"))
	}
	if !(*rate > 0) || *rate > 1e7 {
		bad = append(bad, errors.New("--rate must be a positive number of events per second"))
	}
	if explicit["events"] && explicit["duration"] {
		bad = append(bad, errors.New("set --events or --duration, not both"))
	}
	if *events < 0 {
		bad = append(bad, errors.New("--events must not be negative"))
	}
	if *events == 0 && *dur <= 0 {
		bad = append(bad, errors.New("--duration must be positive"))
	}
	if *visitors <= 0 {
		bad = append(bad, errors.New("--visitors must be positive"))
	}
	if *days <= 0 || *days > 3650 {
		bad = append(bad, errors.New("--days must be between 1 and 3650"))
	}
	if *conc <= 0 || *conc > 10000 {
		bad = append(bad, errors.New("--concurrency must be between 1 and 10000"))
	}
	if *timeout <= 0 {
		bad = append(bad, errors.New("--timeout must be positive"))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %w", errUsage, errors.Join(bad...))
	}

	var products []simulate.Product
	if *catalog != "" {
		data, err := os.ReadFile(*catalog)
		if err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
		if products, err = simulate.ParseCatalog(data); err != nil {
			return fmt.Errorf("catalog %s: %w", *catalog, err)
		}
	}
	if *siteURL == "" {
		*siteURL = strings.TrimSuffix(*target, "/") + "/demo/"
	}
	planned := *events
	if planned == 0 {
		planned = max(1, int((*rate)*dur.Seconds()))
	}
	gen, err := simulate.NewGenerator(simulate.Config{
		Seed: *seed, RunID: simRunID(), Visitors: *visitors, Days: *days, Events: planned,
		SiteURL: *siteURL, Catalog: products,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}

	term := simIsTerminal(stderr)
	every := 5 * time.Second
	if term {
		every = 250 * time.Millisecond
	}
	s := &simulate.Sender{
		Target: *target, WriteKey: *writeKey, Rate: *rate, Concurrency: *conc, Timeout: *timeout,
		ProgressEvery: every,
		Progress: func(p simulate.Progress) {
			switch {
			case term && p.Done:
				fmt.Fprintf(stderr, "\r%s\x1b[K\n", p)
			case term:
				fmt.Fprintf(stderr, "\r%s\x1b[K", p)
			default:
				fmt.Fprintln(stderr, p)
			}
		},
	}
	limit := simulate.Limit{Events: *events, Duration: *dur}
	fmt.Fprintf(stderr, "simulating %d visitors over %d days: %s to %s, %g events/s\n", *visitors, *days, simDescribe(limit), *target, *rate)
	res, runErr := s.Run(ctx, gen, limit)
	if err := simulate.WriteSummary(stdout, res, gen.Stats(), *days); err != nil {
		return err
	}
	return runErr
}

// simDescribe says how a run ends.
func simDescribe(l simulate.Limit) string {
	if l.Events > 0 {
		return fmt.Sprintf("%d events", l.Events)
	}
	return "for " + l.Duration.String()
}

// simRunID returns a fresh random id, so that each run's message ids are new.
func simRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// simIsTerminal reports whether w is a terminal, where progress is one line
// rewritten in place.
func simIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
