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
		return fmt.Errorf("%v (see uaaf --help)", err)
	}
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := path + " " + c.Name
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return fmt.Errorf("%v (see uaaf%s --help)", err, name)
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// Run runs app on args after checking that the command args name exists:
// an unknown one is an error naming the commands there are, not urfave's
// help text.
func Run(app *cli.App, args []string) error {
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		name := args[1]
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
