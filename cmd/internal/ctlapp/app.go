// Package ctlapp is the command-line application of uaaf-ctl, the control
// side of uaaf: the resident runtime (serve), the benchmarks and the client
// verbs of the daemon. Users reach it as `uaaf CMD …` (the uaaf binary execs
// uaaf-ctl). It is a package of its own, not package main, so that tools
// (the man page and completion generator, cmd/internal/clidoc) can read the same
// definitions the binary runs.
package ctlapp

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/cliapp"
	// Policies outside the core set register themselves: uaaf serve
	// --keep-alive and uaaf replay --policies know them by name.
	_ "github.com/uaaf/uaaf/session/sched/contrib"
)

// New returns the uaaf-ctl application, with cliapp's conventions applied.
// Each call builds a fresh one: urfave/cli keeps state in it.
func New() *cli.App {
	app := &cli.App{
		Name:     "uaaf",
		Usage:    "the control side of uaaf: the resident runtime and its tools",
		Commands: Commands(),
	}
	cliapp.Setup(app)
	return app
}

// Commands returns uaaf-ctl's commands, freshly built.
func Commands() []*cli.Command {
	return []*cli.Command{
		serveCommand(),
		benchCommand(),
		replayCommand(),
		// The client verbs.
		libCommand(),
		imageCommand(),
		sessionCommand(),
		psCommand(),
		invokeCommand(),
		eventsCommand(),
	}
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
