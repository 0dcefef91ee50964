// Package cliapp gives uaaf's command binaries (uaaf, uaaf-ctl) the same
// command-line conventions on top of urfave/cli: one version line, `uaaf
// help CMD`, and one error line — never a help dump — for an unknown
// command or a wrong flag. (Package command holds what the `uaaf run` fast
// path needs too; this one would cost it urfave/cli's initialisation.)
package cliapp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/hypervisor/hvt"
)

// Setup applies the conventions to app and every command in it.
func Setup(app *cli.App) {
	app.Version = command.Version
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Fprintln(c.App.Writer, command.VersionLine(hvt.ABIVersion))
	}
	app.HideHelpCommand = false
	app.ExitErrHandler = func(*cli.Context, error) {} // main prints errors, once
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%s (see uaaf --help)", longDashes(err.Error()))
	}
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := path + " " + c.Name
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return fmt.Errorf("%s (see uaaf%s --help)", longDashes(err.Error()), name)
			}
			if len(c.Subcommands) > 0 && c.Action == nil {
				c.Action = subcommandMissing(name, c.Subcommands)
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// subcommandMissing is the action of a command that only groups
// subcommands (path is " bench"): run without one, or with one it does not
// have, it says so in one line instead of printing help.
func subcommandMissing(path string, subs []*cli.Command) cli.ActionFunc {
	var names []string
	for _, s := range subs {
		if !s.Hidden {
			names = append(names, s.Name)
		}
	}
	return func(c *cli.Context) error {
		if c.NArg() == 0 {
			return fmt.Errorf("%s: want a subcommand: %s (see uaaf%s --help)", path[1:], strings.Join(names, ", "), path)
		}
		return fmt.Errorf("%s: unknown subcommand %q (want %s) (see uaaf%s --help)", path[1:], c.Args().First(), strings.Join(names, ", "), path)
	}
}

// longDashes spells long flags with two dashes in the flag package's
// messages ("flag provided but not defined: -wrong" for --wrong), as uaaf's
// help does; one-letter flags keep one.
func longDashes(msg string) string {
	for _, marker := range []string{"not defined: -", "for flag -", "for -", "needs an argument: -"} {
		var b strings.Builder
		rest := msg
		for {
			i := strings.Index(rest, marker)
			if i < 0 {
				break
			}
			j := i + len(marker)
			b.WriteString(rest[:j])
			n := strings.IndexAny(rest[j:], ": ")
			if n < 0 {
				n = len(rest) - j
			}
			if n > 1 && rest[j] != '-' {
				b.WriteString("-")
			}
			rest = rest[j:]
		}
		b.WriteString(rest)
		msg = b.String()
	}
	return msg
}

// Run runs app on args after checking that the command args name exists
// (also in "help CMD"): an unknown one is an error naming the commands
// there are, not urfave's help text.
func Run(app *cli.App, args []string) error {
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		name := args[1]
		if (name == "help" || name == "h") && len(args) > 2 {
			name = args[2] // uaaf help CMD: the same check for CMD
		}
		var names []string
		known := name == "help" || name == "h"
		for _, c := range app.Commands {
			if !c.Hidden {
				names = append(names, c.Name)
			}
			known = known || c.Name == name || slices.Contains(c.Aliases, name)
		}
		if !known {
			return fmt.Errorf("unknown command %q; the commands are: %s (see uaaf --help)", name, strings.Join(names, ", "))
		}
	}
	return app.Run(args)
}
