// uaaf sizes GOMAXPROCS from the CPU count once and never re-sizes it: no
// background re-sizing goroutine in a process whose cold start is measured.
// (The runtime still reads the cgroup files once, for a metric.)

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command uaaf is the Unikernel-as-a-Function runtime: a KVM monitor for
// Solo5-hvt unikernels (`uaaf run`), with inspection and host probing tools.
//
// Exit status: `uaaf run` exits with the guest's exit status (0–255; 255 when
// the guest aborted or trapped). Any error of uaaf's own — bad flags, a
// missing or malformed image, a guest that broke the hvt ABI — prints one
// line "uaaf: …" on stderr and exits 1, as solo5-hvt does.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/cliapp"
	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/cmd/internal/uaafapp"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "help" && uaafapp.IsCtlCommand(os.Args[2]) {
		// uaaf-ctl's help: "help bench call" is "bench call --help".
		os.Args = append(append([]string{os.Args[0]}, os.Args[2:]...), "--help")
	}
	err := cliapp.Run(newApp(), os.Args)
	os.Exit(command.ExitCode(err, os.Stderr))
}

// newApp is the application main runs (package uaafapp defines it).
func newApp() *cli.App { return uaafapp.New() }
