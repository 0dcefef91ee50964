package uaafapp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"
)

// The control side of uaaf — the daemon (`uaaf serve`), its client verbs,
// the benchmarks and the trace replayer — lives in a second binary,
// uaaf-ctl, installed next to uaaf: what it links (net/http, Prometheus,
// eBPF, plotting) takes about a millisecond to initialise, which every
// `uaaf run` would pay, since Go initialises every package a binary links
// before main. `uaaf CMD …` for these commands runs `uaaf-ctl CMD …` in
// its place (exec, same pid, arguments and environment).

// ctlCommands are the commands uaaf-ctl serves, with their one-line usage
// for `uaaf --help`.
var ctlCommands = []struct{ name, usage string }{
	{"serve", "run the resident runtime: preload libraries once, start sessions on demand over an HTTP/JSON API"},
	{"bench", "benchmarks through a real daemon against baselines measured in the same run: fig10, startup, scale, memory, throughput, call, ab"},
	{"replay", "replay an Azure Functions 2019 trace against the daemon, once per keep-alive policy, and compare them"},
	{"lib", "library functions of the daemon: load, ls, pin, unpin, unload"},
	{"image", "session images registered with the daemon: add, ls, rm"},
	{"session", "sessions of the daemon, step by step: create, start, ls, get, wait, kill, rm, logs"},
	{"ps", "the S-F table: each session with its EPTP list, as lib#index(refs, calls)"},
	{"invoke", "run a session on the daemon to its end: its console on stdout, its exit status as uaaf's"},
	{"events", "follow the daemon's events (sessions created, started, exited …; libraries loaded, instantiated, unloaded)"},
}

// ctlEnv names the uaaf-ctl binary to use instead of the one next to uaaf.
const ctlEnv = "UAAF_CTL"

// ctlPath finds uaaf-ctl: $UAAF_CTL, else next to this executable.
func ctlPath() (string, error) {
	if p := os.Getenv(ctlEnv); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find uaaf-ctl: %w", err)
	}
	p := filepath.Join(filepath.Dir(self), "uaaf-ctl")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("this command is served by uaaf-ctl, which is not next to uaaf (%s): build it with `make build` or install both (or set %s)", p, ctlEnv)
	}
	return p, nil
}

func ctlCommandList() []*cli.Command {
	cmds := make([]*cli.Command, len(ctlCommands))
	for i, c := range ctlCommands {
		cmds[i] = &cli.Command{
			Name: c.name, Usage: c.usage, SkipFlagParsing: true, HideHelp: true,
			Action: func(ctx *cli.Context) error {
				return execCtl(append([]string{c.name}, ctx.Args().Slice()...))
			},
		}
	}
	return cmds
}

// execCtl replaces this process with uaaf-ctl running args.
func execCtl(args []string) error {
	p, err := ctlPath()
	if err != nil {
		return err
	}
	err = syscall.Exec(p, append([]string{"uaaf"}, args...), os.Environ())
	return errors.Join(fmt.Errorf("exec %s", p), err)
}

// IsCtlCommand reports whether uaaf-ctl serves command name (the uaaf
// binary only execs it).
func IsCtlCommand(name string) bool {
	for _, c := range ctlCommands {
		if c.name == name {
			return true
		}
	}
	return false
}
