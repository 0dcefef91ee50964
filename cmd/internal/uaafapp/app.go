// Package uaafapp is the command-line application of the uaaf binary:
// run, inspect, probe and version, and the control-side commands it hands
// to uaaf-ctl (see ctl.go). It is a package of its own, not package main,
// so that tools (the man page and completion generator, cmd/internal/clidoc) can
// read the same definitions the binary runs.
package uaafapp

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/cliapp"
	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/hypervisor/hvt"
)

// New returns the uaaf application, with cliapp's conventions applied.
// Each call builds a fresh one: urfave/cli keeps state in it.
func New() *cli.App {
	app := &cli.App{
		Name:  "uaaf",
		Usage: "run Solo5-hvt unikernels as functions on KVM",
		Description: `uaaf runs unikernels built for Solo5's hvt target, unchanged, on a KVM
monitor written in Go ("uaaf run IMAGE" takes solo5-hvt's flags), and runs
sessions that call library-function unikernels preloaded once and shared:
one-shot with "uaaf run", or on demand through the resident runtime,
"uaaf serve", and its client commands.`,
		Commands: append([]*cli.Command{
			runCommand(),
			inspectCommand(),
			probeCommand(),
			versionCommand(),
		}, ctlCommandList()...),
	}
	cliapp.Setup(app)
	return app
}

// versionCommand is `uaaf version`, the same line as `uaaf --version`.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print uaaf's version and the hvt ABI version it speaks",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("version takes no arguments")
			}
			fmt.Fprintln(c.App.Writer, command.VersionLine(hvt.ABIVersion))
			return nil
		},
	}
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
