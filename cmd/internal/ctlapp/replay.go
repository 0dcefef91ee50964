package ctlapp

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/tools/replay"
	"github.com/uaaf/uaaf/tools/trace"
)

// replayCommand is `uaaf replay`: the Azure-trace replayer and keep-alive
// policy comparison (tools/replay).
func replayCommand() *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "replay an Azure Functions 2019 trace against the daemon, once per keep-alive policy, and compare them",
		ArgsUsage: "TRACE_DIR",
		Description: `uaaf replay reads a day of the Azure Functions 2019 trace from TRACE_DIR
(invocations_per_function_md.anon.dNN.csv, optionally the durations and memory
files), spreads each minute's invocations within the minute, and replays them
against uaaf serve at --speedup times real time: once per keep-alive policy of
--policies, each on a daemon of its own with fresh state (started from the uaaf
binary next to this one, its policy clock scaled by the speed-up so that TTLs
and histogram windows stay in trace time), or on the running daemon at
--socket (one policy). Every file is checked before anything runs: a malformed
row is an error naming the file and the line.

Each function runs the session image the mapping gives it (default: replay.hvt,
which calls its libraries once and then runs for the invocation's run time);
each app uses its own instances of the libraries the mapping assigns it
(--libraries per-app, default) or the shared ones (shared).

Written to --out: POLICY/invocations.csv (one row per invocation: timings,
cold or warm libraries, deadline), POLICY/functions.csv, POLICY/serve.log,
summary.json, summary.md (printed too) and policies.png (cold-start fraction vs
library memory-time, one point per policy). Policies are separated by ';' or
',': "ttl=10m,hybrid,fallback=10m,pinned" is three policies.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "policies", Value: "ttl=10m", Usage: "keep-alive `POLICIES` to compare: ttl=D, hybrid[,…], pinned, or a registered one"},
			&cli.StringFlag{Name: "minutes", Usage: "trace minutes `FROM-TO` to replay (1-1440; default: the whole day)"},
			&cli.Float64Flag{Name: "speedup", Value: 1, Usage: "replay `N` times faster than real time"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the arrivals within each minute and of the run times"},
			&cli.StringFlag{Name: "spread", Value: "poisson", Usage: "how a minute's invocations are placed within it: poisson or uniform"},
			&cli.IntFlag{Name: "day", Usage: "trace day `NN` to read", DefaultText: "the only one in TRACE_DIR"},
			&cli.StringFlag{Name: "map", Usage: "mapping `FILE` of functions to images and apps to libraries (see tools/trace)"},
			&cli.StringFlag{Name: "libraries", Value: "per-app", Usage: "per-app (each app its own library instances) or shared"},
			&cli.StringFlag{Name: "out", Value: "replay-out", Usage: "output `DIR`"},
			&cli.StringFlag{Name: "socket", Usage: "replay against the daemon at `SOCKET` instead of starting one per policy"},
			&cli.DurationFlag{Name: "slack", Value: 100 * time.Millisecond, Usage: "deadline of an invocation: its run time plus this, real time"},
			&cli.StringSliceFlag{Name: "image-path", Value: cli.NewStringSlice("guest/build"), Usage: "`DIR` searched for IMAGE.hvt"},
			&cli.StringSliceFlag{Name: "lib-path", Value: cli.NewStringSlice("libfuncs/build"), Usage: "`DIR` searched for the libraries (NAME.hvt)"},
			&cli.IntFlag{Name: "image-mem", Value: 8, Usage: "guest memory of the replayed sessions, `MiB`"},
			&cli.StringFlag{Name: "queue", Value: "fifo", Usage: "the daemons' admission order (uaaf serve --queue)"},
			&cli.StringFlag{Name: "pool", Value: "fixed=16", Usage: "the daemons' VM pool policy (uaaf serve --pool)"},
			&cli.StringSliceFlag{Name: "serve-arg", Usage: "one more `FLAG` for the daemons started (repeat it)"},
			&cli.IntFlag{Name: "max-in-flight", Value: replay.DefaultMaxInFlight, Usage: "invocations outstanding at once; a replay that reaches it waits (and falls behind)"},
			&cli.Float64Flag{Name: "sample", Usage: "replay each invocation with this probability (0 or 1: all)"},
			&cli.StringFlag{Name: "uaaf", Usage: "the uaaf `BINARY` to start daemons with", DefaultText: "the one next to this program"},
		},
		Action: runReplay,
	}
}

func runReplay(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("replay takes one TRACE_DIR (got %d arguments); see uaaf replay --help", c.NArg())
	}
	policies, err := replay.ParsePolicies(c.String("policies"))
	if err != nil {
		return err
	}
	win, err := trace.ParseWindow(c.String("minutes"))
	if err != nil {
		return err
	}
	spread, err := trace.ParseSpread(c.String("spread"))
	if err != nil {
		return err
	}
	ten, err := replay.ParseTenancy(c.String("libraries"))
	if err != nil {
		return err
	}
	if c.Int("image-mem") < 2 {
		return fmt.Errorf("--image-mem wants at least 2 MiB, got %d", c.Int("image-mem"))
	}
	if c.String("socket") != "" && len(policies) > 1 {
		return fmt.Errorf("--socket replays against one running daemon, with its own policy: give one policy (a name for the run), not %d", len(policies))
	}
	// Everything is read and checked before anything runs.
	plan, err := replay.Load(replay.Options{TraceDir: c.Args().First(), Day: c.Int("day"), Window: win, Speedup: c.Float64("speedup"),
		Seed: c.Uint64("seed"), Spread: spread, Sample: c.Float64("sample"), MapFile: c.String("map"), Tenancy: ten})
	if err != nil {
		return err
	}
	images, err := plan.ResolveImages(c.StringSlice("image-path"))
	if err != nil {
		return err
	}
	out := c.String("out")
	aliasDir, err := filepath.Abs(filepath.Join(out, "lib"))
	if err != nil {
		return err
	}
	if err := plan.WriteAliases(aliasDir, c.StringSlice("lib-path")); err != nil {
		return err
	}

	var launcher replay.Launcher
	serveArgs := append([]string{"--queue", c.String("queue"), "--pool", c.String("pool")}, c.StringSlice("serve-arg")...)
	if s := c.String("socket"); s != "" {
		launcher = &replay.SocketLauncher{Socket: s}
		if len(plan.Aliases) > 0 {
			fmt.Fprintf(c.App.ErrWriter, "uaaf replay: the daemon at %s must search %s for the per-app libraries (uaaf serve --lib-path %s:…)\n", s, aliasDir, aliasDir)
		}
	} else {
		bin := c.String("uaaf")
		if bin == "" {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("cannot find the uaaf binary: %w (give --uaaf)", err)
			}
			bin = filepath.Join(filepath.Dir(self), "uaaf")
		}
		libPath := []string{aliasDir}
		for _, d := range c.StringSlice("lib-path") {
			a, err := filepath.Abs(d)
			if err != nil {
				return err
			}
			libPath = append(libPath, a)
		}
		launcher = &replay.ServeLauncher{Binary: bin, ClockScale: plan.Options.Speedup, LibPath: libPath, Args: serveArgs}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmp, err := replay.Compare(ctx, plan, policies, launcher, replay.CompareConfig{
		Config: replay.Config{Slack: c.Duration("slack"), MaxInFlight: c.Int("max-in-flight"), Images: images, ImageMemMiB: c.Int("image-mem")},
		Out:    out, Log: c.App.ErrWriter, Command: "uaaf " + strings.Join(os.Args[1:], " "),
		Queue: c.String("queue"), ServeArgs: serveArgs,
	})
	if err != nil {
		return err
	}
	c.App.Writer.Write(cmp.Markdown())
	printf(c.App.Writer, "\nwrote %s, %s and %s\n", filepath.Join(out, "summary.json"), filepath.Join(out, "summary.md"), filepath.Join(out, "policies.png"))
	return nil
}
