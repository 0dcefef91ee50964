// Package daemon states what the containerd shim needs from the node's
// resident uaaf daemon (`uaaf serve`): the Daemon interface, the values that
// cross it, the errors every implementation reports, and where the daemon's
// socket is.
//
// The shim never runs a monitor itself: every session of every container on a
// node lives in the one daemon, which is what lets those sessions share the
// node's preloaded library functions.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultSocket is where the shim looks for the node daemon's API socket
// when SocketEnv is not set.
const DefaultSocket = "/run/uaaf/uaaf.sock"

// SocketEnv names the environment variable that overrides DefaultSocket.
// containerd passes its own environment to the shims it starts, so the
// variable is set in containerd's environment (for example a systemd drop-in).
const SocketEnv = "UAAF_SOCKET"

// Socket returns the node daemon's socket path: $UAAF_SOCKET, else
// DefaultSocket.
func Socket() string {
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

// Errors every Daemon implementation reports (wrapped, test with errors.Is).
var (
	// ErrNoDaemon: nothing answers on the daemon socket.
	ErrNoDaemon = errors.New("no uaaf daemon")
	// ErrNotFound: the daemon does not know the session (never created,
	// deleted, or lost when the daemon restarted).
	ErrNotFound = errors.New("session not found")
)

// Unreachable returns the error a Daemon implementation reports when it
// cannot reach the daemon at socket: it wraps ErrNoDaemon and tells the
// operator what to do.
func Unreachable(socket string, cause error) error {
	return fmt.Errorf("%w at %s: start one with `uaaf serve` (%v)", ErrNoDaemon, socket, cause)
}

// SessionSpec is what the shim asks the daemon to create.
type SessionSpec struct {
	// Name identifies the session to people: "NAMESPACE/CONTAINER-ID".
	Name string
	// Image is the host path of the session's .hvt image (inside the
	// container's mounted rootfs). The shim has checked that it is a
	// regular file that does not escape the rootfs.
	Image string
	// Args are the session's command-line arguments (without the image).
	Args []string
	// MemMiB is the session's guest memory in MiB, a multiple of 2; 0 lets
	// the daemon choose its default.
	MemMiB int
	// Libs names the library functions the container requires of the node
	// (annotation uaaf.io/libs, else env UAAF_LIBS). The session binds what
	// its image imports whatever Libs says; an implementation checks Libs
	// against the node when it creates the session and fails the creation
	// if the node cannot provide one (see package uaafd for the rule).
	Libs []string
}

// Exit is how a session ended.
type Exit struct {
	// Status is the guest's exit status (0-255) when Killed is false.
	Status int
	// Killed reports that the session was stopped (KillSession, or the daemon
	// itself ended it) rather than exiting on its own.
	Killed bool
	// At is when the session ended.
	At time.Time
	// Message is uaaf's own diagnostic for the session, if any (one line,
	// e.g. "uaaf: unresolved import sha256.digest"); the shim writes it to
	// the task's stderr.
	Message string
}

// SessionStats is what the daemon can say about a session's use of the node.
type SessionStats struct {
	// State is "created", "running" or "exited".
	State string
	// MemBytes is the host memory the session uses, its private copy-on-write
	// library pages included.
	MemBytes uint64
	// CPUNanos is the CPU time its vCPUs have used.
	CPUNanos uint64
}

// Daemon is what the shim needs from the node's `uaaf serve`.
//
// Implementations are safe for concurrent use: the shim waits on a session in
// one goroutine while it kills it from another. Every method that names a
// session returns an error wrapping ErrNotFound when the daemon does not know
// it, and every method returns an error wrapping ErrNoDaemon (see
// Unreachable) when the daemon cannot be reached.
type Daemon interface {
	// Ping checks that a daemon answers on the socket.
	Ping(ctx context.Context) error
	// CreateSession loads the image and resolves its libraries without
	// running it, and returns the session's id.
	CreateSession(ctx context.Context, spec SessionSpec) (id string, err error)
	// StartSession runs a created session.
	StartSession(ctx context.Context, id string) error
	// WaitSession blocks until the session has ended (it returns at once for
	// one that has) or ctx is done.
	WaitSession(ctx context.Context, id string) (Exit, error)
	// KillSession stops a created or running session; it succeeds on one that
	// has already ended. The session then ends with Exit.Killed set.
	KillSession(ctx context.Context, id string) error
	// DeleteSession forgets an ended session.
	DeleteSession(ctx context.Context, id string) error
	// Console returns the session's console output from its beginning. With
	// follow the stream stays open until the session has ended and all its
	// output has been read, then reports io.EOF; without, it ends at the
	// output produced so far. ctx bounds the whole stream, not only the call.
	Console(ctx context.Context, id string, follow bool) (io.ReadCloser, error)
	// Stats reports the session's resource use.
	Stats(ctx context.Context, id string) (SessionStats, error)
}
