// Package runcmd is `uaaf run`: it runs an hvt unikernel, or a session with
// its library functions, with solo5-hvt's command line.
//
// A process started as "uaaf run ..." is served from this package's init,
// before the rest of the program is initialised, and exits there. Nothing of
// `uaaf run` uses the command-line library (solo5-hvt's flags are not its
// syntax; monitor.ParseArgs parses them), so the run need not wait for it,
// and for the other packages only the other commands use, to initialise:
// on the machines uaaf is developed on that is about a millisecond of a
// cold start. Go initialises every package this one imports before its
// init runs, so the fast path sees a fully initialised program as far as it
// can reach. Other commands, and "uaaf --help", go through package main as
// usual; Main is the same command reached through urfave/cli.
package runcmd

import (
	"os"

	"github.com/uaaf/uaaf/cmd/internal/command"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		os.Exit(command.ExitCode(run(os.Stdout, os.Stderr, os.Args[2:], false), os.Stderr))
	}
}
