package loadgen

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Flags are the settings of a benchmark whose load generator runs in a
// process of its own, shared by its two roles: the phase, the role, and
// the load generator's target. Register adds the flags whose help is the
// same in every such benchmark; each program adds -rate and -target
// itself, saying what they are there.
type Flags struct {
	Phase
	// Role is what this process does: RoleBench or RoleLoad.
	Role string
	// The load generator's, set by the benchmark that starts it.
	Name   string // the target's, in messages
	Target string // the target's URL, on a loopback address
}

// Register adds -duration, -warmup, -conns, -workers, -timeout, -role,
// -mode, -name and -sender to fs, with their defaults; -sender's is
// f.Sender if set, else GoLoop.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.DurationVar(&f.Duration, "duration", 10*time.Second, "How long each measured phase lasts: each closed-loop run after its warm-up, and each open-loop run.")
	fs.DurationVar(&f.Warmup, "warmup", 2*time.Second, "How long each closed-loop run sends before counting.")
	fs.IntVar(&f.Conns, "conns", 64, "The number of keep-alive connections of the closed-loop runs, each sending back to back.")
	fs.IntVar(&f.Workers, "workers", 0, "The open-loop senders, each with its own connection; 0 means the rate times 5ms, at least 64 and at most 1024 (default 0).")
	fs.DurationVar(&f.Timeout, "timeout", 5*time.Second, "How long one request may take to be written or answered before it counts as an error.")
	fs.StringVar(&f.Role, "role", RoleBench, "What this process does: bench runs the benchmark; load is one phase's load generator, which the benchmark starts in a process of its own.")
	fs.StringVar(&f.Mode, "mode", Closed, "With -role=load: closed, -conns connections sending back to back, or open, requests scheduled at -rate sent by -workers.")
	fs.StringVar(&f.Name, "name", "target", "With -role=load: the target's name in messages.")
	fs.StringVar(&f.Sender, "sender", cmp.Or(f.Sender, GoLoop), "What sends the open loop's requests: event, event loops on OS threads of their own, over raw sockets (one a 50,000 requests a second, wrk2's way), or go, a goroutine and a fasthttp client a worker.")
}

// ParseFlags parses args into fs's flags and refuses arguments that are
// not flags.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// Validate reports what is wrong with the settings, those of -role=load
// included; a negative -rate is left to the program, whose -rate means
// more.
func (f Flags) Validate() error {
	var errs []error
	if f.Duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive"))
	}
	if f.Warmup < 0 {
		errs = append(errs, errors.New("-warmup must not be negative"))
	}
	if f.Conns < 1 || f.Conns > 4096 {
		errs = append(errs, fmt.Errorf("-conns %d out of range 1..4096", f.Conns))
	}
	if f.Workers < 0 || f.Workers > 4096 {
		errs = append(errs, fmt.Errorf("-workers %d out of range 0..4096", f.Workers))
	}
	if f.Timeout <= 0 {
		errs = append(errs, errors.New("-timeout must be positive"))
	}
	if f.Sender != "" && f.Sender != GoLoop && f.Sender != EventLoops {
		errs = append(errs, fmt.Errorf("-sender %q is neither %s nor %s", f.Sender, EventLoops, GoLoop))
	}
	switch f.Role {
	case RoleBench:
	case RoleLoad:
		if f.Target == "" {
			errs = append(errs, errors.New("-role=load needs -target"))
		}
		switch {
		case f.Mode == Closed:
		case f.Mode != Open:
			errs = append(errs, fmt.Errorf("-mode %q is neither closed nor open", f.Mode))
		case f.Rate < 1 || f.Workers < 1:
			errs = append(errs, errors.New("-mode=open needs -rate of at least 1 and -workers"))
		}
	default:
		errs = append(errs, fmt.Errorf("-role %q is neither bench nor load", f.Role))
	}
	return errors.Join(errs...)
}

// TargetAddr returns the host:port of -target, which must be an http URL
// on a loopback address: a load generator sends to 127.0.0.1 only.
func (f Flags) TargetAddr() (string, error) {
	u, err := url.Parse(f.Target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("-target %q is not an http URL", f.Target)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("-target %q is not on a loopback address and port", f.Target)
	}
	return u.Host, nil
}
