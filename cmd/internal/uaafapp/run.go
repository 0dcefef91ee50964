package uaafapp

import (
	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/runcmd"
)

// runCommand describes `uaaf run` for the command-line library's help and
// dispatch. A process started as "uaaf run ..." is in fact served earlier,
// by package runcmd's init (see its documentation); this Action is the same
// code reached through the library.
func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run an hvt unikernel (solo5-hvt compatible flags)",
		ArgsUsage: "[OPTIONS] [--] KERNEL [ARGS...]",
		// solo5-hvt's flags (--block:NAME=PATH …) are not urfave/cli
		// syntax; monitor.ParseArgs parses them.
		SkipFlagParsing:    true,
		CustomHelpTemplate: runcmd.Usage,
		Action: func(c *cli.Context) error {
			return runcmd.Main(c.App.Writer, c.App.ErrWriter, c.Args().Slice())
		},
	}
}
