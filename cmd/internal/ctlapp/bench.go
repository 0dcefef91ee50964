package ctlapp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/datadir"
	"github.com/uaaf/uaaf/tools/bench/fig10"
	"github.com/uaaf/uaaf/tools/bench/report"
)

// benchPanels are the `uaaf bench` subcommands that run panels, with what
// each measures.
var benchPanels = []struct{ name, usage string }{
	{"fig10", "every panel: startup, scale, memory, throughput, call (Figure 10 of the UaaF paper and the daemon's goals)"},
	{"startup", "cold start per phase: library load, start → first instruction, → exit, whole and trivial invocation"},
	{"scale", "start latency (p50, p99) while 1, 2, 5, … N instances are live"},
	{"memory", "total Pss against live instances, and KiB per instance, per system"},
	{"throughput", "trivial invocations per second, back to back and with several clients"},
	{"call", "library call round trip through the daemon vs a plain hypercall: time, VM exits, emulated instructions"},
}

// benchCommand is `uaaf bench`: the benchmarks, each against baselines
// measured in the same run, through a real `uaaf serve` started for it.
func benchCommand() *cli.Command {
	cmd := &cli.Command{
		Name:  "bench",
		Usage: "benchmarks through a real daemon against baselines measured in the same run: fig10, startup, scale, memory, throughput, call, ab",
		Description: `Each panel writes DIR/<panel>.csv and DIR/<panel>.png, and the run writes
DIR/summary.json and DIR/summary.md (machine, versions, medians, p99, ratios,
the issues' goals met or not, what was skipped or failed and why).

uaaf is measured the way it is used: the benchmark starts "uaaf serve" (the
uaaf binary next to this one, or --uaaf) on a private socket and drives it with
the Go client. The baselines: uaaf-isolated (one cold "uaaf run" per instance,
each with private copies of its libraries), solo5-hvt (--solo5-hvt), runc (from
$PATH unless --no-runc). Every run is checked; a failed baseline is reported as
failed (exit status 1), never turned into a ratio. The images are uaaf's own
($UAAF_DATA_DIR, the installed ones, or the source tree's), unless --guest-dir
and --lib-dir say otherwise.`,
	}
	for _, p := range benchPanels {
		cmd.Subcommands = append(cmd.Subcommands, &cli.Command{
			Name: p.name, Usage: p.usage, Flags: benchFlags(), Action: runPanel(p.name),
		})
	}
	cmd.Subcommands = append(cmd.Subcommands, &cli.Command{
		Name:      "ab",
		Usage:     "compare two uaaf builds on one panel, in rotating order: the ratio new/old with a confidence interval",
		ArgsUsage: "OLD_UAAF NEW_UAAF",
		Flags: append(benchFlags(),
			&cli.StringFlag{Name: "panel", Value: "startup", Usage: "what to compare: " + strings.Join(fig10.ABPanels, ", ")},
			&cli.IntFlag{Name: "ab-rounds", Value: 10, Usage: "rounds (a daemon of each build per round)"},
		),
		Action: runAB,
	})
	return cmd
}

func benchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Value: "bench-results", Usage: "`DIR` for the CSVs, PNGs and summary"},
		&cli.BoolFlag{Name: "quick", Usage: "a short run: 100 instances at most, fewer rounds (under 5 minutes)"},
		&cli.IntFlag{Name: "max-instances", Usage: "live instances at most", DefaultText: "1000; --quick 100"},
		&cli.IntFlag{Name: "max-processes", Usage: "live instances at most for the one-process-per-instance systems; comparisons beyond use their fitted line", DefaultText: "--max-instances"},
		&cli.StringFlag{Name: "solo5-hvt", Usage: "Solo5's solo5-hvt tender, `PATH` (built from Solo5's source); without it solo5-hvt is skipped"},
		&cli.StringFlag{Name: "runc", Usage: "runc `PATH`", DefaultText: "runc in $PATH"},
		&cli.BoolFlag{Name: "no-runc", Usage: "leave the runc baseline out"},
		&cli.StringFlag{Name: "uaaf", Usage: "the uaaf binary to measure, `PATH`", DefaultText: "uaaf next to this binary"},
		&cli.StringFlag{Name: "guest-dir", Usage: "`DIR` of the session and test images (demo, idle, hello, pause, callbench)", DefaultText: datadirDefault("guest", "guest/build")},
		&cli.StringFlag{Name: "lib-dir", Usage: "`DIR` of the library images (base64, sha256, crc32, sort, testfns)", DefaultText: datadirDefault("lib", "libfuncs/build")},
		&cli.IntFlag{Name: "rounds", Usage: "cold starts per system in startup", DefaultText: "40; --quick 12"},
		&cli.IntFlag{Name: "probes", Usage: "start samples per step in scale", DefaultText: "100; --quick 25"},
		&cli.IntFlag{Name: "invocations", Usage: "invocations per system and client count in throughput", DefaultText: "300; --quick 100"},
		&cli.IntFlag{Name: "concurrency", Usage: "clients at once in throughput", DefaultText: "2 × CPUs"},
		&cli.IntFlag{Name: "calls", Usage: "calls per callbench run", DefaultText: "2000; --quick 1000"},
		&cli.IntFlag{Name: "mem", Value: 8, Usage: "guest memory of every session and process, `MiB`"},
		&cli.BoolFlag{Name: "verbose", Usage: "say what is happening on stderr (one line per stage)"},
	}
}

// benchConfig turns the flags into a configuration.
func benchConfig(c *cli.Context) (fig10.Config, error) {
	cfg := fig10.Defaults(c.Bool("quick"))
	cfg.GuestDir, cfg.LibDir, cfg.MemMiB = c.String("guest-dir"), c.String("lib-dir"), c.Int("mem")
	for _, dir := range []struct {
		dst  *string
		flag string
		pick func(datadir.Dirs) string
	}{{&cfg.GuestDir, "guest-dir", func(d datadir.Dirs) string { return d.Guest }},
		{&cfg.LibDir, "lib-dir", func(d datadir.Dirs) string { return d.Lib }}} {
		if *dir.dst != "" {
			continue
		}
		d, err := datadir.Find()
		if err != nil {
			return cfg, fmt.Errorf("cannot find uaaf's images: %w; give their directory with --%s", err, dir.flag)
		}
		*dir.dst = dir.pick(d)
	}
	for _, o := range []struct {
		flag string
		dst  *int
	}{{"max-instances", &cfg.MaxInstances}, {"max-processes", &cfg.MaxProcesses}, {"rounds", &cfg.Rounds},
		{"probes", &cfg.Probes}, {"invocations", &cfg.Invocations}, {"concurrency", &cfg.Concurrency}, {"calls", &cfg.CallN}} {
		if c.IsSet(o.flag) {
			*o.dst = c.Int(o.flag)
		}
	}
	cfg.UAAF = c.String("uaaf")
	if cfg.UAAF == "" {
		self, err := os.Executable()
		if err != nil {
			return cfg, err
		}
		cfg.UAAF = filepath.Join(filepath.Dir(self), "uaaf")
		if _, err := os.Stat(cfg.UAAF); err != nil {
			return cfg, fmt.Errorf("no uaaf binary next to %s: build it (make build) or give --uaaf PATH", self)
		}
	}
	cfg.Solo5HVT = c.String("solo5-hvt")
	switch {
	case c.Bool("no-runc"):
		cfg.RuncSkip = "--no-runc given"
	case c.String("runc") != "":
		cfg.Runc = c.String("runc")
	default:
		if p, err := exec.LookPath("runc"); err == nil {
			cfg.Runc = p
		} else {
			cfg.RuncSkip = "runc not found in $PATH (Debian: apt-get install runc)"
		}
	}
	if report.IsTerminal(os.Stderr) {
		cfg.Progress = report.NewProgress
	}
	if c.Bool("verbose") {
		cfg.Log = c.App.ErrWriter
	}
	return cfg, nil
}

// runPanel runs one panel (or all of them, fig10) and writes the results.
func runPanel(name string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() > 0 {
			return fmt.Errorf("bench %s takes no arguments (got %q)", name, c.Args().First())
		}
		cfg, err := benchConfig(c)
		if err != nil {
			return err
		}
		return runBench(c, cfg, "uaaf bench "+name, func(ctx context.Context, b *fig10.Bench) error {
			run := map[string]func(context.Context) error{
				"fig10": b.Fig10, "startup": b.Startup, "scale": b.Scale, "memory": b.Memory,
				"throughput": b.Throughput, "call": b.Call,
			}[name]
			return run(ctx)
		})
	}
}

// runAB is `uaaf bench ab OLD NEW`.
func runAB(c *cli.Context) error {
	if c.NArg() != 2 {
		return fmt.Errorf("bench ab needs OLD_UAAF and NEW_UAAF (see uaaf bench ab --help)")
	}
	cfg, err := benchConfig(c)
	if err != nil {
		return err
	}
	cfg.UAAF, cfg.DaemonOnly = c.Args().Get(1), true
	return runBench(c, cfg, "uaaf bench ab --panel "+c.String("panel"), func(ctx context.Context, b *fig10.Bench) error {
		return b.AB(ctx, c.Args().Get(0), c.Args().Get(1), c.String("panel"), c.Int("ab-rounds"))
	})
}

// runBench sets up a bench from cfg under a context that SIGINT and
// SIGTERM cancel, titles it, runs measure on it and finishes it
// (finishBench).
func runBench(c *cli.Context, cfg fig10.Config, title string, measure func(context.Context, *fig10.Bench) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b, err := fig10.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	b.SetTitle(title)
	return finishBench(c, b, measure(ctx, b))
}

// finishBench writes what was measured, even after a failure, prints where
// and the goals, and returns the run's error or the failed systems.
func finishBench(c *cli.Context, b *fig10.Bench, runErr error) error {
	paths, werr := b.Write(c.String("out"))
	w := c.App.Writer
	for _, p := range paths {
		printf(w, "wrote %s\n", p)
	}
	skipped := 0
	for _, ck := range b.Summary().Checks {
		if ck.Missing != "" {
			skipped++
			continue
		}
		verdict := "not met"
		if ck.Met {
			verdict = "met"
		}
		printf(w, "%s: %s: %.4g %s — %s\n", ck.Source, ck.Goal, ck.Value, ck.Unit, verdict)
	}
	if skipped > 0 {
		printf(w, "%d goals not evaluated by this run (see summary.md)\n", skipped)
	}
	return errors.Join(runErr, werr, b.Err())
}

// datadirDefault describes where a data directory flag looks by default
// (package datadir's rule; $UAAF_DATA_DIR/SUB first, said in the command's
// description).
func datadirDefault(sub, inTree string) string {
	return "PREFIX/" + datadir.ShareDir + "/" + sub + " of the installed uaaf, or " + inTree + " of its source tree"
}
