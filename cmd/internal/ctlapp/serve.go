package ctlapp

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/cmd/internal/datadir"
	"github.com/uaaf/uaaf/hypervisor/kvmtrace"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/daemon"
	"github.com/uaaf/uaaf/session/sched"
)

// socketFlag is --socket, shared by serve and the client verbs.
func socketFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "socket", Value: api.DefaultSocket, EnvVars: []string{"UAAF_SOCKET"},
		Usage: "the daemon's unix socket"}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the resident runtime: preload libraries once, start sessions on demand over an HTTP/JSON API",
		Description: `uaaf serve runs in the foreground (logs on stderr, one "ready" line on stdout) and
serves the API described by GET /v1/openapi.json on a unix socket (mode 0660),
optionally also on a loopback TCP address with a bearer token. SIGTERM or SIGINT
stops it: it stops accepting, lets running sessions finish within --drain-timeout,
stops the rest and exits 0. Its state is in memory: sessions end with it, and
libraries and images must be loaded again (--config) after a restart.

The --config file is JSON, its relative paths relative to the file itself:
{"lib_path": ["DIR"], "libraries": [{"name": "sha256", "path": "sha256.hvt",
"pin": true}], "images": [{"name": "demo", "path": "demo.hvt", "mem_mib": 8}]}.`,
		Flags: []cli.Flag{
			socketFlag(),
			&cli.StringFlag{Name: "config", Usage: "JSON `FILE` of libraries to preload and images to register at start (its format: see the description)"},
			&cli.StringFlag{Name: "listen", Usage: "also serve on TCP `ADDR` (loopback only unless --allow-remote); needs --token-file"},
			&cli.StringFlag{Name: "token-file", Usage: "`FILE` holding the bearer token TCP clients must send"},
			&cli.BoolFlag{Name: "allow-remote", Usage: "let --listen take a non-loopback address"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format on stderr: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log every request"},
			&cli.DurationFlag{Name: "drain-timeout", Value: 30 * time.Second, Usage: "on SIGTERM, how long running sessions may finish before they are stopped"},
			&cli.StringSliceFlag{Name: "lib-path", Usage: "`DIR`[:DIR] searched for NAME.hvt when a session imports a library not loaded (also $UAAF_LIB_PATH); uaaf's own library images are searched last", DefaultText: "PREFIX/" + datadir.ShareDir + "/lib of the installed uaaf, or libfuncs/build of its source tree"},
			&cli.IntFlag{Name: "lib-mem", Value: 4, Usage: "guest memory of each library view, `MiB`"},
			&cli.DurationFlag{Name: "lib-ttl", Value: 10 * time.Minute, Usage: "how long an unpinned library stays loaded after its last session (the ttl keep-alive policy)"},
			&cli.StringFlag{Name: "keep-alive", Usage: "keep-alive `POLICY` of libraries, NAME[,key=value…] with NAME one of " + strings.Join(sched.KeepAliveNames(), ", ") + " (e.g. ttl=10m, hybrid, pinned; overrides --lib-ttl)"},
			&cli.StringFlag{Name: "image-keep-alive", Usage: "keep-alive `POLICY` of each session image's warm state (the guests made ahead of need for it), same syntax as --keep-alive, applied once its last session ends", DefaultText: "the libraries' policy"},
			&cli.Float64Flag{Name: "clock-scale", Value: 1, Usage: "run the policies' clock `N` times faster than real time: keep-alive windows (--lib-ttl, hybrid's histogram) and /v1/residency are in that clock (a trace replayed at speed-up N keeps them in trace time)"},
			&cli.StringFlag{Name: "queue", Value: "fifo", Usage: "admission order of waiting invocations, NAME[,key=value…] with NAME one of " + strings.Join(sched.QueueNames(), ", ") + " (e.g. fair,per-image=4)"},
			&cli.IntFlag{Name: "pool-size", Value: 16, Usage: "VMs kept ready (the fixed pool policy)"},
			&cli.StringFlag{Name: "pool", Usage: "pool sizing `POLICY`, NAME[,key=value…] with NAME one of " + strings.Join(sched.PoolNames(), ", ") + " (e.g. fixed=16, rate,min=4,max=64; overrides --pool-size)"},
			&cli.IntFlag{Name: "max-sessions", Value: 1024, Usage: "sessions holding a VM at once"},
			&cli.IntFlag{Name: "max-queued", Value: 1024, Usage: "invocations waiting for a slot; beyond, 429 (0: no queue)"},
			&cli.IntFlag{Name: "max-per-image", Usage: "live sessions of one image (0: no limit)"},
			&cli.IntFlag{Name: "mem", Value: 512, Usage: "default guest memory of a session, `MiB`"},
			&cli.DurationFlag{Name: "timeout", Usage: "default wall-time limit of a session (0: none)"},
			&cli.DurationFlag{Name: "call-timeout", Value: 10 * time.Second, Usage: "deadline of one library call"},
			&cli.Int64Flag{Name: "max-console", Value: 1 << 20, Usage: "console `BYTES` kept per session"},
			&cli.StringFlag{Name: "switch", Value: "auto", Usage: "view-switch backend: auto, exit, vmfunc"},
			&cli.DurationFlag{Name: "retain", Value: 10 * time.Minute, Usage: "how long the record of an ended session nobody deleted is kept"},
			&cli.IntFlag{Name: "max-retained", Value: 1024, Usage: "records of ended sessions kept at most; past it the oldest are forgotten"},
			&cli.StringFlag{Name: "seccomp", Value: "kill", Usage: "system-call filters: each session's vCPU thread gets the runner allowlist and the process the daemon's; a call outside them kills the daemon (kill), is logged (log), or nothing is filtered (off)"},
		},
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments (got %q; see uaaf serve --help)", c.Args().First())
	}
	var handler slog.Handler
	level := slog.LevelInfo
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	switch c.String("log-format") {
	case "text":
		handler = slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level})
	default:
		return fmt.Errorf("--log-format wants text or json, got %q", c.String("log-format"))
	}
	log := slog.New(handler)

	var token string
	if c.String("listen") != "" {
		if c.String("token-file") == "" {
			return fmt.Errorf("--listen needs --token-file: the TCP API requires a bearer token")
		}
		b, err := os.ReadFile(c.String("token-file"))
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); len(token) < 16 {
			return fmt.Errorf("--token-file %s: the token must be at least 16 characters", c.String("token-file"))
		}
	}
	var cfg *daemon.Config
	if p := c.String("config"); p != "" {
		var err error
		if cfg, err = daemon.ReadConfig(p); err != nil {
			return err
		}
	}
	var libPaths []string
	for _, v := range c.StringSlice("lib-path") {
		libPaths = append(libPaths, filepath.SplitList(v)...)
	}
	libPaths = append(libPaths, filepath.SplitList(os.Getenv("UAAF_LIB_PATH"))...)
	if cfg != nil {
		libPaths = append(libPaths, cfg.LibPath...)
	}
	if d, err := datadir.Find(); err == nil {
		libPaths = append(libPaths, d.Lib) // uaaf's own library images, last
	}
	keep := c.String("keep-alive")
	if keep == "" {
		keep = "ttl=" + c.Duration("lib-ttl").String()
	}
	pool := c.String("pool")
	if pool == "" {
		pool = fmt.Sprintf("fixed=%d", c.Int("pool-size"))
	}
	// The policies, checked here so that a typo gets the flag's name.
	keepFlag, poolFlag := "--keep-alive "+keep, "--pool "+pool
	if c.String("keep-alive") == "" {
		keepFlag = "--lib-ttl " + c.Duration("lib-ttl").String()
	}
	if c.String("pool") == "" {
		poolFlag = fmt.Sprintf("--pool-size %d", c.Int("pool-size"))
	}
	for _, f := range []struct {
		flag, spec string
		parse      func(string) error
	}{
		{keepFlag, keep, func(s string) error { _, err := sched.ParseKeepAlive(s); return err }},
		{"--image-keep-alive " + c.String("image-keep-alive"), c.String("image-keep-alive"), func(s string) error { _, err := sched.ParseKeepAlive(s); return err }},
		{"--queue " + c.String("queue"), c.String("queue"), func(s string) error { _, err := sched.ParseQueue(s); return err }},
		{poolFlag, pool, func(s string) error { _, err := sched.ParsePool(s); return err }},
	} {
		if f.spec == "" {
			continue
		}
		if err := f.parse(f.spec); err != nil {
			return fmt.Errorf("%s: %w (see uaaf serve --help)", f.flag, err)
		}
	}
	mode, err := seccomp.ParseMode(c.String("seccomp"))
	if err != nil {
		return fmt.Errorf("--seccomp wants kill, log or off, got %q", c.String("seccomp"))
	}
	scale := c.Float64("clock-scale")
	if !(scale >= 1e-3 && scale <= 1e6) {
		return fmt.Errorf("--clock-scale wants a factor from 0.001 to 1e6, got %v", scale)
	}
	if c.Int("lib-mem") < 2 || c.Int("lib-mem") > 4096 {
		return fmt.Errorf("--lib-mem wants MiB from 2 to 4096, got %d", c.Int("lib-mem"))
	}
	opts := daemon.Options{
		Version: command.Version, Switch: c.String("switch"), LibPaths: nonEmpty(libPaths),
		LibMemSize: uint64(c.Int("lib-mem")) << 20 &^ (2<<20 - 1), KeepAlive: keep, ImageKeepAlive: c.String("image-keep-alive"), Queue: c.String("queue"), Pool: pool,
		MaxSessions: c.Int("max-sessions"), MaxQueued: queueBound(c.Int("max-queued")), MaxPerImage: c.Int("max-per-image"),
		MemMiB: c.Int("mem"), Timeout: c.Duration("timeout"), CallTimeout: c.Duration("call-timeout"),
		MaxConsole: c.Int64("max-console"), Retain: c.Duration("retain"), MaxRetained: c.Int("max-retained"), Logger: log, Seccomp: mode,
	}
	if scale != 1 {
		opts.Clock = sched.NewScaledClock(time.Now(), scale)
	}
	if tr, err := kvmtrace.New(kvmtrace.UserspaceExit); err == nil {
		defer tr.Close()
		opts.KernelExits = func() (uint64, bool) {
			m, err := tr.Read()
			return m[kvmtrace.UserspaceExit], err == nil
		}
	} else {
		log.Info("kernel exit counts unavailable in /metrics", "reason", err)
	}

	// Listen first: a second daemon on the same socket fails before it
	// touches KVM.
	ul, err := daemon.ListenUnix(c.String("socket"))
	if err != nil {
		return err
	}
	ls := []daemon.Listener{{Listener: ul}}
	if addr := c.String("listen"); addr != "" {
		tl, err := daemon.ListenTCP(addr, c.Bool("allow-remote"))
		if err != nil {
			ul.Close()
			return err
		}
		ls = append(ls, daemon.Listener{Listener: tl, Token: token})
	}
	d, err := daemon.New(opts)
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return err
	}
	if cfg != nil {
		if err := d.Apply(cfg); err != nil {
			d.Close()
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("config %s: %w", c.String("config"), err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Set-up is done (libraries preloaded, eBPF loaded, sockets bound): the
	// whole process takes the daemon's allowlist now, before any session
	// runs; each session's vCPU thread adds the tighter runner allowlist.
	if err := seccomp.Install(mode, seccomp.Daemon); err != nil {
		d.Close()
		for _, l := range ls {
			l.Close()
		}
		return fmt.Errorf("%w (run with --seccomp=off to run without filters)", err)
	}
	where := "unix:" + c.String("socket")
	if len(ls) > 1 {
		where += " tcp:" + ls[1].Addr().String()
	}
	fmt.Fprintf(c.App.Writer, "uaaf serve: ready on %s (pid %d, switch %s)\n", where, os.Getpid(), d.Selection())
	return d.Serve(ctx, c.Duration("drain-timeout"), ls...)
}

// nonEmpty drops empty strings.
func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// queueBound maps --max-queued to Options.MaxQueued: 0 there means no
// queue, which Options spells < 0.
func queueBound(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
