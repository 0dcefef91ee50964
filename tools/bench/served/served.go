// Package served runs a real `uaaf serve` daemon as a child process for a
// benchmark or a trace replay — the way a user runs uaaf — and hands out a
// Go client of it, its pid (for its memory) and its log.
//
// A Daemon belongs to the goroutine that started it: Close it (defer it);
// its Client may be used from any goroutine.
package served

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/session/daemon"
	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// Sentinel errors.
var (
	// ErrStart: the daemon did not start or did not get ready.
	ErrStart = errors.New("served: daemon did not start")
	// ErrExited: the daemon is no longer running (it crashed or was
	// killed) while the benchmark still needed it, or it exited with a
	// failure on Close.
	ErrExited = errors.New("served: daemon exited")
)

// Options says how to start the daemon.
type Options struct {
	// Binary is the uaaf binary (or uaaf-ctl, which serves the same
	// command); it is run as `Binary serve --socket DIR/uaaf.sock
	// --config DIR/uaaf.json ARGS...`.
	Binary string
	// Config is written to DIR/uaaf.json and given with --config: the
	// libraries to preload and the images to register (paths should be
	// absolute). An empty Config gives no --config.
	Config daemon.Config
	// Args are further `uaaf serve` flags, e.g. "--pool-size", "16".
	Args []string
	// Env is added to the daemon's environment (e.g. "UAAF_LIB_PATH=").
	Env []string
	// LogPath, if set, receives the daemon's log (its stderr) and is kept
	// after Close; by default the log lives in DIR and goes with it.
	LogPath string
	// ReadyTimeout bounds the wait for the "ready" line (default 60 s).
	ReadyTimeout time.Duration
}

// Daemon is a running `uaaf serve` child process.
type Daemon struct {
	// Client talks to the daemon's socket.
	Client *client.Client
	// PID is the daemon's process id.
	PID int
	// Socket is the unix socket it listens on.
	Socket string
	// Ready is its ready line ("uaaf serve: ready on unix:… (pid …,
	// switch …)").
	Ready string

	argv   []string
	dir    string
	log    string // stderr file
	cmd    *exec.Cmd
	done   chan struct{} // closed once reaped
	werr   error         // cmd.Wait's result, valid after done
	closed bool
}

// Start starts the daemon in a new temporary directory and waits until it
// prints its ready line. On failure it stops what it started and returns
// an error wrapping ErrStart with the tail of the daemon's log.
func Start(ctx context.Context, opt Options) (*Daemon, error) {
	if opt.Binary == "" {
		return nil, fmt.Errorf("%w: no uaaf binary given", ErrStart)
	}
	if _, err := os.Stat(opt.Binary); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	dir, err := os.MkdirTemp("", "uaaf-bench-serve-*")
	if err != nil {
		return nil, fmt.Errorf("served: %w", err)
	}
	started := false // until then, a failure removes dir here
	defer func() {
		if !started {
			os.RemoveAll(dir)
		}
	}()
	d := &Daemon{dir: dir, Socket: filepath.Join(dir, "uaaf.sock"), log: filepath.Join(dir, "serve.log"), done: make(chan struct{})}
	if opt.LogPath != "" {
		d.log = opt.LogPath
	}
	d.argv = []string{opt.Binary, "serve", "--socket", d.Socket}
	if len(opt.Config.LibPath)+len(opt.Config.Libraries)+len(opt.Config.Images) > 0 {
		cfg, err := json.MarshalIndent(opt.Config, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("served: config: %w", err)
		}
		cfgPath := filepath.Join(dir, "uaaf.json")
		if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
			return nil, fmt.Errorf("served: %w", err)
		}
		d.argv = append(d.argv, "--config", cfgPath)
	}
	d.argv = append(d.argv, opt.Args...)
	logF, err := os.Create(d.log)
	if err != nil {
		return nil, fmt.Errorf("served: %w", err)
	}
	defer logF.Close()
	d.cmd = exec.Command(d.argv[0], d.argv[1:]...)
	if len(opt.Env) > 0 {
		d.cmd.Env = append(os.Environ(), opt.Env...)
	}
	d.cmd.Stderr = logF
	// A group of its own: killing it kills whatever it started too.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("served: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStart, opt.Binary, err)
	}
	started = true // from here d.kill cleans up
	d.PID = d.cmd.Process.Pid
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, br) // it prints nothing more; never let it block
		d.werr = d.cmd.Wait()
		close(d.done)
	}()
	timeout := opt.ReadyTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "uaaf serve: ready on unix:"+d.Socket) {
			// It exited (stdout closed: line "") or printed something
			// else; give an exiting daemon a moment to say why.
			select {
			case <-d.done:
			case <-time.After(time.Second):
			}
			err := d.failure("printed %q instead of its ready line", line)
			d.kill()
			return nil, err
		}
		d.Ready = line
	case <-timer.C:
		err := d.failure("not ready after %v", timeout)
		d.kill()
		return nil, err
	case <-ctx.Done():
		err := d.failure("%v", ctx.Err())
		d.kill()
		return nil, err
	}
	d.Client = client.New(d.Socket)
	return d, nil
}

// failure describes a failed start with the log's tail.
func (d *Daemon) failure(format string, args ...any) error {
	status := ""
	select {
	case <-d.done:
		status = " (" + d.cmd.ProcessState.String() + ")"
	default:
	}
	return fmt.Errorf("%w: %s: %s%s; log: %s", ErrStart, strings.Join(d.argv, " "), fmt.Sprintf(format, args...), status, d.LogTail())
}

// kill stops the process and its group at once and removes its directory.
func (d *Daemon) kill() {
	syscall.Kill(-d.PID, syscall.SIGKILL)
	<-d.done
	d.cleanup()
}

func (d *Daemon) cleanup() {
	if d.Client != nil {
		d.Client.Close()
	}
	os.RemoveAll(d.dir)
}

// LogTail returns the last lines of the daemon's log (stderr): at most 8
// lines and 1 KiB, newlines shown as " | ".
func (d *Daemon) LogTail() string {
	b, _ := os.ReadFile(d.log)
	b = bytes.TrimSpace(b)
	if len(b) > 1024 {
		b = b[len(b)-1024:]
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, " | ")
}

// Check returns an error wrapping ErrExited if the daemon is no longer
// running.
func (d *Daemon) Check() error {
	select {
	case <-d.done:
		return fmt.Errorf("%w: %v; log: %s", ErrExited, d.cmd.ProcessState, d.LogTail())
	default:
		return nil
	}
}

// Rollup returns the daemon process's smaps_rollup: its memory, sessions
// and libraries included (they live in its address space).
func (d *Daemon) Rollup() (procmem.Rollup, error) {
	if err := d.Check(); err != nil {
		return procmem.Rollup{}, err
	}
	r, err := procmem.ReadRollup(d.PID)
	if err != nil {
		if cerr := d.Check(); cerr != nil {
			return procmem.Rollup{}, cerr
		}
		return procmem.Rollup{}, fmt.Errorf("served: %w", err)
	}
	return r, nil
}

// Threads returns the number of threads of the daemon process.
func (d *Daemon) Threads() (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(d.PID) + "/task")
	if err != nil {
		return 0, fmt.Errorf("served: %w", err)
	}
	return len(ents), nil
}

// WaitPool waits until the daemon's warm pool is full (the metrics
// uaaf_pool_ready ≥ uaaf_pool_target), polling every 20 ms, so that a
// measurement does not race the pool's first fill.
func (d *Daemon) WaitPool(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		text, err := d.Client.Metrics(ctx)
		if err != nil {
			return fmt.Errorf("served: metrics: %w", err)
		}
		ready, ok1 := MetricValue(text, "uaaf_pool_ready")
		target, ok2 := MetricValue(text, "uaaf_pool_target")
		if !ok1 || !ok2 {
			return fmt.Errorf("served: /metrics lacks uaaf_pool_ready or uaaf_pool_target")
		}
		if ready >= target {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("served: pool %v of %v ready: %w", ready, target, ctx.Err())
		case <-tick.C:
		}
	}
}

// closeTimeout bounds the daemon's drain on Close before it is killed.
const closeTimeout = 30 * time.Second

// Close stops the daemon with SIGTERM (it drains and exits 0), waits for it
// (SIGKILL after 30 s) and removes its directory. It is idempotent. A
// daemon that had already exited, or exits with a failure, gives an error
// wrapping ErrExited with its log.
func (d *Daemon) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var err error
	select {
	case <-d.done:
		err = fmt.Errorf("%w before it was stopped: %v; log: %s", ErrExited, d.cmd.ProcessState, d.LogTail())
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
			if d.werr != nil {
				err = fmt.Errorf("%w: on SIGTERM: %v; log: %s", ErrExited, d.werr, d.LogTail())
			}
		case <-time.After(closeTimeout):
			syscall.Kill(-d.PID, syscall.SIGKILL)
			<-d.done
			err = fmt.Errorf("%w: did not stop within %v of SIGTERM; log: %s", ErrExited, closeTimeout, d.LogTail())
		}
	}
	d.cleanup()
	return err
}

// MetricValue returns the value of the first sample of metric name without
// labels (a line "name value" or "name value timestamp") in a Prometheus
// text exposition, and whether there was one.
func MetricValue(text, name string) (float64, bool) {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		return v, true
	}
	return 0, false
}
