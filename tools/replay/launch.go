package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/tools/bench/served"
)

// Launcher gives each policy's replay a daemon.
type Launcher interface {
	// Launch returns a daemon running keep-alive policy spec with fresh
	// state, writing what it logs under dir, and a function that stops it
	// (and reports how it ended).
	Launch(ctx context.Context, spec, dir string) (d Daemon, stop func() error, err error)
	// Fresh reports whether every Launch gives a daemon of its own with
	// the policy asked for (false: one daemon, whatever its policy).
	Fresh() bool
}

// ServeLauncher starts a `uaaf serve` child per policy.
type ServeLauncher struct {
	// Binary is the uaaf (or uaaf-ctl) executable.
	Binary string
	// ClockScale is the daemon's --clock-scale: the replay's speed-up.
	ClockScale float64
	// LibPath is the daemon's --lib-path, searched in order (the alias
	// directory first).
	LibPath []string
	// Args are more `uaaf serve` flags (--queue, --pool, …).
	Args []string
	// StartTimeout bounds the wait for the daemon's ready line; 0: 30 s.
	StartTimeout time.Duration
}

// Fresh reports true: each Launch starts a new process.
func (l *ServeLauncher) Fresh() bool { return true }

// ServeLog is the file, in a run's directory, that receives its daemon's
// log (stderr).
const ServeLog = "serve.log"

// Launch starts `uaaf serve --keep-alive spec --clock-scale … --lib-path …`
// (package served) on a socket in a fresh temporary directory, its log in
// dir/serve.log, and waits for its ready line.
func (l *ServeLauncher) Launch(ctx context.Context, spec, dir string) (Daemon, func() error, error) {
	scale := l.ClockScale
	if scale == 0 {
		scale = 1
	}
	args := []string{"--keep-alive", spec, "--clock-scale", strconv.FormatFloat(scale, 'g', -1, 64), "--drain-timeout", "5s"}
	if len(l.LibPath) > 0 {
		args = append(args, "--lib-path", strings.Join(l.LibPath, ":"))
	}
	timeout := l.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	logPath := filepath.Join(dir, ServeLog)
	d, err := served.Start(ctx, served.Options{
		Binary: l.Binary, Args: append(args, l.Args...), LogPath: logPath,
		Env:          []string{"UAAF_LIB_PATH="}, // only the paths given
		ReadyTimeout: timeout,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	stop := func() error {
		if err := d.Close(); err != nil {
			return fmt.Errorf("uaaf serve (policy %s): %w; see %s", spec, err, logPath)
		}
		return nil
	}
	return d.Client, stop, nil
}

// SocketLauncher uses a daemon that is already running: every Launch gives
// the same daemon, with whatever policy and state it has.
type SocketLauncher struct {
	Socket string
}

// Fresh reports false.
func (l *SocketLauncher) Fresh() bool { return false }

// Launch connects to the daemon at l.Socket; stop only closes the client.
func (l *SocketLauncher) Launch(ctx context.Context, _, _ string) (Daemon, func() error, error) {
	c := client.New(l.Socket)
	if _, err := c.Health(ctx); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	return c, c.Close, nil
}
