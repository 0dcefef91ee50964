package seccomp

import "fmt"

// Mode says what the filter does with a system call outside the profile.
type Mode string

// The modes `--seccomp=` accepts.
const (
	// Kill ends the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS):
	// the default, and what every other thread of a Go process needs, since
	// killing only the offending thread (SECCOMP_RET_KILL_THREAD) would
	// leave the runtime waiting on it forever.
	Kill Mode = "kill"
	// Log lets the call through and has the kernel log it
	// (SECCOMP_RET_LOG: an audit record "type=1326 ... syscall=N" in the
	// kernel log), for finding what a profile lacks.
	Log Mode = "log"
	// Off installs nothing.
	Off Mode = "off"
)

// Modes lists the valid modes, the default first.
var Modes = []Mode{Kill, Log, Off}

// ParseMode parses a --seccomp value. The empty string is not a mode: the
// caller applies its default (Kill).
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if s == string(m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w %q: want kill, log or off", ErrMode, s)
}
