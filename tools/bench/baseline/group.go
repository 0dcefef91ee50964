package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// readyPoll is how often StartGroup and StartContainers look for the ready
// marker.
const readyPoll = 2 * time.Millisecond

// defaultReadyTimeout bounds the wait for readiness when ctx has no deadline.
const defaultReadyTimeout = 60 * time.Second

// Group is K live copies of one long-running command, for memory
// measurements: started by StartGroup, each has printed its ready marker,
// and they run until Close. A Group is used by one goroutine at a time.
type Group struct {
	argv    []string
	dir     string // stdout/stderr files
	members []*member
	closed  bool
}

type member struct {
	cmd     *exec.Cmd
	out     string        // stdout file
	errf    string        // stderr file
	done    chan struct{} // closed once the process is reaped
	waitErr error         // cmd.Wait's result, valid after done
}

func (m *member) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// StartGroup starts k processes of argv (stdin /dev/null, output to files)
// and waits until each has written ready to its stdout. It fails with a
// *RunError — after stopping every process it started — when one cannot
// start, exits before it is ready, or is not ready when ctx is done (or
// after 60 s when ctx has no deadline). ready "" means no wait.
//
// The processes outlive the caller unless it calls Close (defer it). No
// parent-death signal is set: Linux sends it when the forking *thread* exits,
// and the Go runtime ends threads whose goroutine exits locked to them (as
// vCPU goroutines do), which would kill a healthy baseline mid-measurement.
func StartGroup(ctx context.Context, argv []string, k int, ready string) (*Group, error) {
	if len(argv) == 0 || k < 1 {
		return nil, &RunError{Cmd: argv, Status: "not started", Reason: fmt.Sprintf("empty command or %d instances", k)}
	}
	dir, err := os.MkdirTemp("", "uaaf-bench-group-*")
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	g := &Group{argv: argv, dir: dir}
	for i := range k {
		if err := g.start(i); err != nil {
			g.Close()
			return nil, err
		}
	}
	if err := g.waitReady(ctx, ready); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (g *Group) start(i int) error {
	m := &member{
		out:  filepath.Join(g.dir, strconv.Itoa(i)+".out"),
		errf: filepath.Join(g.dir, strconv.Itoa(i)+".err"),
		done: make(chan struct{}),
	}
	outF, err := os.Create(m.out)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer outF.Close()
	errF, err := os.Create(m.errf)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer errF.Close()
	m.cmd = exec.Command(g.argv[0], g.argv[1:]...)
	m.cmd.Stdout, m.cmd.Stderr = outF, errF
	if err := m.cmd.Start(); err != nil {
		return &RunError{Cmd: g.argv, Status: "not started", Reason: "could not start: " + err.Error(), Err: err}
	}
	g.members = append(g.members, m)
	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.done)
	}()
	return nil
}

// failure describes member m, which exited or is unready, as a *RunError.
func (g *Group) failure(m *member, reason string, err error) *RunError {
	stderr, _ := os.ReadFile(m.errf)
	status := "running"
	if m.exited() {
		status = m.cmd.ProcessState.String()
	}
	return &RunError{Cmd: g.argv, Status: status, Reason: reason, Stderr: tail(stderr), Err: err}
}

func (g *Group) waitReady(ctx context.Context, ready string) error {
	if ready == "" {
		for _, m := range g.members {
			if m.exited() {
				return g.failure(m, `exited before it printed ""`, nil)
			}
		}
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultReadyTimeout)
		defer cancel()
	}
	pending := append([]*member(nil), g.members...)
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		left := pending[:0]
		for _, m := range pending {
			out, err := os.ReadFile(m.out)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			isReady := bytes.Contains(out, []byte(ready))
			switch {
			case isReady && m.exited():
				return g.failure(m, "exited right after it was ready", nil)
			case isReady:
			case m.exited():
				return g.failure(m, fmt.Sprintf("exited before it printed %q", ready), nil)
			default:
				left = append(left, m)
			}
		}
		pending = left
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return g.failure(pending[0], fmt.Sprintf("not ready (no %q on stdout): %v", ready, ctx.Err()), ctx.Err())
		case <-tick.C:
		}
	}
}

// Len returns the number of processes.
func (g *Group) Len() int { return len(g.members) }

// PIDs returns the processes' pids, in start order.
func (g *Group) PIDs() []int {
	pids := make([]int, len(g.members))
	for i, m := range g.members {
		pids[i] = m.cmd.Process.Pid
	}
	return pids
}

// Check returns a *RunError for the first process that is no longer running
// (it exited or was killed before Close), else nil.
func (g *Group) Check() error {
	if g.closed {
		return &RunError{Cmd: g.argv, Status: "closed", Reason: "group already closed"}
	}
	for _, m := range g.members {
		if m.exited() {
			return g.failure(m, "exited before it was stopped", m.waitErr)
		}
	}
	return nil
}

// Pss returns the total Pss in bytes of all the processes (shared pages
// counted once across them). Every process must still be running: one that
// is not makes it a *RunError, never a smaller total.
func (g *Group) Pss() (uint64, error) {
	if err := g.Check(); err != nil {
		return 0, err
	}
	return sumPss(g.PIDs(), g.Check)
}

// sumPss returns procmem.SumPss of pids, the processes check reports on.
// When a pid cannot be read, check runs again so that a process gone in the
// meantime comes back as check's *RunError rather than as a read error.
func sumPss(pids []int, check func() error) (uint64, error) {
	total, err := procmem.SumPss(pids)
	if err != nil {
		if cerr := check(); cerr != nil {
			return 0, cerr
		}
		return 0, fmt.Errorf("baseline: %w", err)
	}
	return total, nil
}

// Close kills every process (SIGKILL), waits until each is reaped and
// removes the output files. It is idempotent and returns an error only for
// a process that could not be killed or a directory that could not be
// removed.
func (g *Group) Close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	var errs []error
	for _, m := range g.members {
		if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("baseline: kill %d: %w", m.cmd.Process.Pid, err))
		}
	}
	for _, m := range g.members {
		<-m.done
	}
	if err := os.RemoveAll(g.dir); err != nil {
		errs = append(errs, fmt.Errorf("baseline: %w", err))
	}
	return errors.Join(errs...)
}
