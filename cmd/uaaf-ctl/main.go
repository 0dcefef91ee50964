// Command uaaf-ctl is the control side of uaaf: the resident runtime
// (`uaaf serve`), and the commands that need more than a monitor
// (benchmarks). Users run it as `uaaf CMD …`: the uaaf binary executes
// uaaf-ctl for these commands (see cmd/internal/uaafapp/ctl.go for why they are a
// binary of their own); running uaaf-ctl directly works the same.
package main

import (
	"os"

	"github.com/uaaf/uaaf/cmd/internal/cliapp"
	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/cmd/internal/ctlapp"
)

func main() {
	err := cliapp.Run(ctlapp.New(), os.Args)
	os.Exit(command.ExitCode(err, os.Stderr))
}
