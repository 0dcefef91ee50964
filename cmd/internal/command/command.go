// Package command holds what every uaaf command binary shares: its
// version, and how a command's result becomes the process's exit status and
// its one error line.
package command

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// Version is uaaf's version, set at build time with
// -ldflags "-X github.com/uaaf/uaaf/cmd/internal/command.Version=…" (make
// build does); without it, the module's build information says what it
// can (the VCS revision, or the module version `go install` recorded).
var Version = "dev"

func init() {
	if Version != "dev" {
		return
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	switch {
	case rev != "":
		Version = rev[:min(len(rev), 12)]
		if modified == "true" {
			Version += "-dirty"
		}
	case bi.Main.Version != "" && bi.Main.Version != "(devel)":
		Version = bi.Main.Version
	}
}

// VersionLine is how every uaaf command states its version.
func VersionLine(abi int) string {
	return fmt.Sprintf("uaaf %s (hvt ABI version %d)", Version, abi)
}

// ExitError carries an exit status out of a command without printing.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode maps a command's result to a process exit status, writing the
// error line "uaaf: …" to stderr if there is one: nil is 0, an *ExitError
// its Code, anything else 1.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprintf(stderr, "uaaf: %v\n", err)
	return 1
}
