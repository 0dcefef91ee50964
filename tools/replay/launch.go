package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/uaaf/uaaf/session/client"
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
// on a socket in a fresh temporary directory, its log in dir/serve.log,
// and waits for its ready line.
func (l *ServeLauncher) Launch(ctx context.Context, spec, dir string) (Daemon, func() error, error) {
	sockDir, err := os.MkdirTemp("", "uaafr") // short: a socket path has at most 107 bytes
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	logPath := filepath.Join(dir, ServeLog)
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(sockDir)
		return nil, nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	sock := filepath.Join(sockDir, "uaaf.sock")
	scale := l.ClockScale
	if scale == 0 {
		scale = 1
	}
	args := []string{"serve", "--socket", sock, "--keep-alive", spec, "--clock-scale", strconv.FormatFloat(scale, 'g', -1, 64),
		"--drain-timeout", "5s"}
	if len(l.LibPath) > 0 {
		args = append(args, "--lib-path", strings.Join(l.LibPath, ":"))
	}
	args = append(args, l.Args...)
	cmd := exec.Command(l.Binary, args...)
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "UAAF_LIB_PATH=") // only the paths given
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		os.RemoveAll(sockDir)
		return nil, nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(sockDir)
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrSetup, l.Binary, err)
	}
	exited := make(chan error, 1)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), "uaaf serve: ready") {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		exited <- cmd.Wait()
	}()
	c := client.New(sock)
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			defer os.RemoveAll(sockDir)
			defer logf.Close()
			c.Close()
			cmd.Process.Signal(syscall.SIGTERM)
			var err error
			select {
			case err = <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				err = fmt.Errorf("did not stop within 30 s of SIGTERM: %w", <-exited)
			}
			if err != nil {
				stopErr = fmt.Errorf("uaaf serve (policy %s): %w; see %s", spec, err, logPath)
			}
		})
		return stopErr
	}
	timeout := l.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	select {
	case ok := <-ready:
		if ok {
			return c, stop, nil
		}
		err = errors.New("exited before it was ready")
	case <-time.After(timeout):
		err = fmt.Errorf("not ready within %v", timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	return nil, nil, fmt.Errorf("%w: uaaf serve %s: %w: %s", ErrSetup, strings.Join(args, " "), err, tail(logPath, 5))
}

// tail returns the last n lines of the file at path, joined by " | ".
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
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
