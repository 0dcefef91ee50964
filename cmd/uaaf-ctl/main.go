// Command uaaf-ctl is the control side of uaaf: the resident runtime
// (`uaaf serve`), and the commands that need more than a monitor
// (benchmarks). Users run it as `uaaf CMD …`: the uaaf binary executes
// uaaf-ctl for these commands (see cmd/uaaf/ctl.go for why they are a
// binary of their own); running uaaf-ctl directly works the same.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/cliapp"
	"github.com/uaaf/uaaf/cmd/internal/command"
	// Policies outside the core set register themselves: uaaf serve
	// --keep-alive and uaaf replay --policies know them by name.
	_ "github.com/uaaf/uaaf/session/sched/contrib"
)

func main() {
	err := cliapp.Run(newApp(), os.Args)
	os.Exit(command.ExitCode(err, os.Stderr))
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "uaaf",
		Usage: "the control side of uaaf: the resident runtime and its tools",
		Commands: []*cli.Command{
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
		},
	}
	cliapp.Setup(app)
	return app
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
