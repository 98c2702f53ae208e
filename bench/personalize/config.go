package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ecrm/ecrm/bench/internal/loadgen"
	"github.com/ecrm/ecrm/internal/catalog"
)

// config holds the benchmark's settings. Those of loadgen.Flags are the
// phases' (-duration, -warmup, -conns, -workers, -timeout; -rate is the
// load generator's) and the role and target of this process.
type config struct {
	loadgen.Flags

	Profiles int
	Items    int
	Sessions int
	Seed     uint64
	Active   int
	CacheMiB int

	RecommendRate float64
	DecideRate    float64
	CPUProfile    string
	DecideProfile string
	HeapProfile   string
	GCMidway      bool
	Loadgen       string // of the closed-loop peaks: wrk or go

	// Kind is the load generator's: the requests it sends.
	Kind string
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
	cfg.Sender = loadgen.EventLoops
	cfg.Register(fs)
	fs.Float64Var(&cfg.RecommendRate, "recommend-rate", 0, "The open-loop rate of recommend requests per second; 0 means half the measured recommend peak (default 0).")
	fs.Float64Var(&cfg.DecideRate, "decide-rate", 0, "The open-loop rate of decide requests per second; 0 means half the measured decide peak (default 0).")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "A file to write the CPU profile of the recommend closed-loop run to, for go tool pprof (default none).")
	fs.StringVar(&cfg.DecideProfile, "cpuprofile-decide", "", "A file to write the CPU profile of the decide closed-loop run to (default none).")
	fs.BoolVar(&cfg.GCMidway, "gc-midway", true, "Start a garbage collection cycle in the servers' process halfway through each open-loop window that has none by then, so that the p99s always count one, as a replica's would over time (default true).")
	fs.StringVar(&cfg.HeapProfile, "heapprofile", "", "A file to write the heap profile to once the load is over, for go tool pprof -sample_index=inuse_objects: what the garbage collector marks (default none).")
	fs.StringVar(&cfg.Loadgen, "loadgen", "wrk", "The load generator of the closed-loop peaks: wrk (apt-get install -y wrk), or go, this program's own in a process of its own (the sample and the open-loop runs always use go).")
	fs.StringVar(&cfg.Target, "target", "", "With -role=load: the URL on 127.0.0.1 of the server under load.")
	fs.StringVar(&cfg.Kind, "kind", kindRecommend, "With -role=load: the requests, recommend, decide, or bare (the recommend requests to the bare handler).")
	fs.Float64Var(&cfg.Rate, "rate", 0, "With -role=load -mode=open: the requests per second.")
	if err := loadgen.ParseFlags(fs, args); err != nil {
		return cfg, err
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
	if c.Loadgen != "wrk" && c.Loadgen != "go" {
		errs = append(errs, errors.New("-loadgen must be wrk or go"))
	}
	if c.Active < 0 {
		errs = append(errs, errors.New("-active must not be negative"))
	}
	if c.CacheMiB < 1 {
		errs = append(errs, errors.New("-cache-mib must be positive"))
	}
	errs = append(errs, c.Flags.Validate())
	if c.RecommendRate < 0 || c.DecideRate < 0 || c.Rate < 0 {
		errs = append(errs, errors.New("rates must not be negative"))
	}
	if c.Role == loadgen.RoleLoad && c.Kind != kindBare && c.Kind != kindRecommend && c.Kind != kindDecide {
		errs = append(errs, fmt.Errorf("-kind %q is none of bare, recommend, decide", c.Kind))
	}
	return errors.Join(errs...)
}
