// Command ecrm is the one binary of ecrm: `ecrm run` starts every role in
// one process with an embedded Kafka-protocol broker; `ecrm collector`,
// `ecrm profiler` and `ecrm personalize` run one role each against a Kafka
// cluster; `ecrm import catalog FILE` imports items into the catalog.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var commands = map[string]string{
	"run":         "Starts every role in one process: an embedded Kafka-protocol broker, the collector, the profiler, personalize, the admin API and the demo shop.",
	"collector":   "Runs the collector alone: the tracking API, producing to --kafka-brokers.",
	"profiler":    "Runs one profiler member alone: consumes hits from --kafka-brokers and keeps profiles.",
	"personalize": "Runs personalize alone: the profile view, recommendations, decisions and the admin API over --kafka-brokers.",
	"version":     "Prints the version.",
	"simulate":    "Sends realistic synthetic shop traffic (visitors, sessions, carts, orders, logins on several devices, bots) to a collector at a fixed rate.",
	"import":      "Imports items into the catalog: ecrm import catalog FILE (CSV, NDJSON or a JSON array) posts them in batches to --target's POST /v1/catalog.",
	"eval":        "Evaluates the recommender on next-item prediction: trains on --train, scores HR@k and MRR@k on every position of every --test session.",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ecrm:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run runs the subcommand named by args[0] until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd := args[0]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "ecrm", version)
		return nil
	case "simulate":
		return simulateCmd(ctx, args[1:], getenv, stdout, stderr)
	case "eval":
		return evalCmd(ctx, args[1:], stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], getenv, stdout, stderr)
	case "run", "collector", "profiler", "personalize":
		var cfg config
		fs := flagSet(cmd, &cfg, getenv, stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		return serve(ctx, cmd, &cfg, stdout, stderr)
	default:
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ecrm <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n])
	}
	fmt.Fprintln(w, "\nRun 'ecrm <command> -h' for a command's flags.")
}
