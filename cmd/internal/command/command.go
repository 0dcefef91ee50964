// Package command holds what every uaaf command binary shares: its
// version, and how a command's result becomes the process's exit status and
// its one error line.
package command

import (
	"errors"
	"fmt"
	"io"
)

// Version is uaaf's version, set at build time with
// -ldflags "-X github.com/uaaf/uaaf/cmd/internal/command.Version=…".
var Version = "dev"

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
