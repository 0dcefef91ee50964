package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/hypervisor/hvt"
)

func newApp() *cli.App {
	app := &cli.App{
		Name:    "uaaf",
		Usage:   "run Solo5-hvt unikernels as functions on KVM",
		Version: fmt.Sprintf("%s (hvt ABI version %d)", command.Version, hvt.ABIVersion),
		Description: `uaaf runs unikernels built for Solo5's hvt target, unchanged, on a KVM
monitor written in Go. "uaaf run IMAGE" accepts solo5-hvt's flags.`,
		Commands: append([]*cli.Command{
			runCommand(),
			inspectCommand(),
			probeCommand(),
		}, ctlCommandList()...),
		HideHelpCommand: true,
		// Errors are printed once, by main.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see uaaf --help)", err)
		},
	}
	return app
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
