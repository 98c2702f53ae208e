package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ecrm/ecrm/internal/catalog"
)

// config holds the benchmark's settings.
type config struct {
	Profiles int
	Items    int
	Sessions int
	Seed     uint64
	Active   int
	CacheMiB int

	Duration      time.Duration
	Warmup        time.Duration
	Conns         int
	RecommendRate float64
	DecideRate    float64
	Workers       int
	Timeout       time.Duration
	CPUProfile    string
	DecideProfile string

	// Role is what this process does: roleBench or roleLoad.
	Role string
	// The load generator's, set by the benchmark that starts it.
	Target string
	Mode   string
	Kind   string
	Name   string
	Rate   float64
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench/personalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Profiles, "profiles", 1_000_000, "The number of visitors, each with a profile snapshot in the store and known by an anonymous id.")
	fs.IntVar(&cfg.Items, "items", 100_000, "The number of items of the catalog and the recommender.")
	fs.IntVar(&cfg.Sessions, "sessions", 500_000, "The number of synthetic sessions the recommender observes, about 5 items each.")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "The seed of the synthetic state and requests: the same seed gives the same profiles, items and visitors.")
	fs.IntVar(&cfg.Active, "active", 0, "The number of visitors the requests come from, uniformly: 0 means every profile, so almost every read misses the view's cache; a smaller number models the visitors active at a time, whose profiles the cache holds after their first request (default 0).")
	fs.IntVar(&cfg.CacheMiB, "cache-mib", 256, "The view's in-memory profile cache in MiB (256, the view's default, is what ecrm runs with).")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "How long each measured phase lasts: each closed-loop run after its warm-up, and each open-loop run.")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "How long each closed-loop run sends before counting.")
	fs.IntVar(&cfg.Conns, "conns", 64, "The number of keep-alive connections of the closed-loop runs, each sending back to back.")
	fs.Float64Var(&cfg.RecommendRate, "recommend-rate", 0, "The open-loop rate of recommend requests per second; 0 means half the measured recommend peak (default 0).")
	fs.Float64Var(&cfg.DecideRate, "decide-rate", 0, "The open-loop rate of decide requests per second; 0 means half the measured decide peak (default 0).")
	fs.IntVar(&cfg.Workers, "workers", 0, "The open-loop senders, each with its own connection; 0 means the rate times 5ms, at least 64 and at most 1024 (default 0).")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "How long one request may take to be written or answered before it counts as an error.")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "A file to write the CPU profile of the recommend closed-loop run to, for go tool pprof (default none).")
	fs.StringVar(&cfg.DecideProfile, "cpuprofile-decide", "", "A file to write the CPU profile of the decide closed-loop run to (default none).")
	fs.StringVar(&cfg.Role, "role", roleBench, "What this process does: bench runs the benchmark; load is one phase's load generator, which the benchmark starts in a process of its own.")
	fs.StringVar(&cfg.Target, "target", "", "With -role=load: the URL on 127.0.0.1 of the server under load.")
	fs.StringVar(&cfg.Mode, "mode", modeClosed, "With -role=load: closed, -conns connections sending back to back, or open, requests scheduled at -rate sent by -workers.")
	fs.StringVar(&cfg.Kind, "kind", kindRecommend, "With -role=load: the requests, recommend, decide, or bare (the recommend requests to the bare handler).")
	fs.StringVar(&cfg.Name, "name", "target", "With -role=load: the target's name in messages.")
	fs.Float64Var(&cfg.Rate, "rate", 0, "With -role=load -mode=open: the requests per second.")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.Validate()
}

// Validate reports whether the settings can run.
func (c config) Validate() error {
	var errs []error
	if c.Profiles < 1 || c.Profiles > 20_000_000 {
		errs = append(errs, fmt.Errorf("-profiles %d out of range 1..20000000", c.Profiles))
	}
	if c.Items < 10 || c.Items > catalog.MaxItems {
		errs = append(errs, fmt.Errorf("-items %d out of range 10..%d", c.Items, catalog.MaxItems))
	}
	if c.Sessions < 1 || c.Sessions > 50_000_000 {
		errs = append(errs, fmt.Errorf("-sessions %d out of range 1..50000000", c.Sessions))
	}
	if c.Active < 0 {
		errs = append(errs, errors.New("-active must not be negative"))
	}
	if c.CacheMiB < 1 {
		errs = append(errs, errors.New("-cache-mib must be positive"))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive"))
	}
	if c.Warmup < 0 {
		errs = append(errs, errors.New("-warmup must not be negative"))
	}
	if c.Conns < 1 || c.Conns > 4096 {
		errs = append(errs, fmt.Errorf("-conns %d out of range 1..4096", c.Conns))
	}
	if c.RecommendRate < 0 || c.DecideRate < 0 || c.Rate < 0 {
		errs = append(errs, errors.New("rates must not be negative"))
	}
	if c.Workers < 0 || c.Workers > 4096 {
		errs = append(errs, fmt.Errorf("-workers %d out of range 0..4096", c.Workers))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	switch c.Role {
	case roleBench:
	case roleLoad:
		if c.Target == "" {
			errs = append(errs, errors.New("-role=load needs -target"))
		}
		if c.Kind != kindBare && c.Kind != kindRecommend && c.Kind != kindDecide {
			errs = append(errs, fmt.Errorf("-kind %q is none of bare, recommend, decide", c.Kind))
		}
		switch {
		case c.Mode == modeClosed:
		case c.Mode != modeOpen:
			errs = append(errs, fmt.Errorf("-mode %q is neither closed nor open", c.Mode))
		case c.Rate < 1 || c.Workers < 1:
			errs = append(errs, errors.New("-mode=open needs -rate of at least 1 and -workers"))
		}
	default:
		errs = append(errs, fmt.Errorf("-role %q is neither bench nor load", c.Role))
	}
	return errors.Join(errs...)
}
