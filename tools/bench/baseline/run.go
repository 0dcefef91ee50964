// Package baseline runs the external systems uaaf's benchmarks compare
// against — solo5-hvt processes and runc containers — and any other command
// whose cold run or resident memory is measured (e.g. `uaaf run` itself).
//
// Every run is checked: its exit status and its output must match an Expect,
// otherwise the result is a *RunError (wrapping ErrBaselineFailed) carrying
// the command, the status and the tail of its stderr — never a time. A
// system that is not there gives an error wrapping ErrNotInstalled, which a
// caller reports as skipped.
//
// Runners are plain values and safe to use from several goroutines; a Group
// or Containers belongs to the goroutine that started it (its methods lock
// nothing) and must be closed.
package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors.
var (
	// ErrBaselineFailed: a run exited with the wrong status, printed the
	// wrong output, was killed, timed out or did not start. Errors
	// wrapping it are *RunError.
	ErrBaselineFailed = errors.New("baseline: run failed")
	// ErrNotInstalled: the system is not available here (no such binary,
	// no compiler); the caller reports the system as skipped.
	ErrNotInstalled = errors.New("baseline: not installed")
)

// Expect is what a successful run looks like.
type Expect struct {
	// ExitCode is the exit status the run must end with.
	ExitCode int
	// Stdout lists strings that must all appear in the standard output.
	Stdout []string
}

// check returns why a run with exit status code and output stdout does not
// meet e, or "" when it does.
func (e Expect) check(code int, stdout []byte) string {
	if code != e.ExitCode {
		return fmt.Sprintf("exit status %d, want %d", code, e.ExitCode)
	}
	for _, s := range e.Stdout {
		if !bytes.Contains(stdout, []byte(s)) {
			return fmt.Sprintf("stdout lacks %q", s)
		}
	}
	return ""
}

// Result is one successful run.
type Result struct {
	// Wall is the time from just before fork to just after the process
	// was reaped.
	Wall time.Duration
	// MaxRSS is the peak resident set of the process (rusage ru_maxrss,
	// the largest of the process and its waited-for descendants), in
	// bytes.
	MaxRSS int64
	// User and System are the CPU times of the process and its reaped
	// children.
	User, System time.Duration
	// Stdout and Stderr are everything the process wrote.
	Stdout, Stderr []byte
	// FirstOutput is the time from just before fork to the first byte
	// on stdout; only RunFirstOutput measures it (0 otherwise).
	FirstOutput time.Duration
}

// RunError is a failed run. It wraps ErrBaselineFailed, and Err when set.
type RunError struct {
	// Cmd is the command line that was run.
	Cmd []string
	// Status is how the process ended: "exit status 1", "signal: killed",
	// "not started", "running" (a long-running process that failed its
	// readiness check).
	Status string
	// Reason says what did not match: "exit status 1, want 0", "stdout
	// lacks \"SUCCESS\"", "exited before it was stopped", a context error.
	Reason string
	// Stderr is the tail of the standard error (at most the last 8 lines
	// and 1 KiB).
	Stderr string
	// Err is the underlying error (exec's, the context's), if any.
	Err error
}

// Error formats e as "baseline: run failed: CMD: REASON [STATUS]; stderr:
// TAIL" (the stderr part only when there is some, newlines as " | ").
func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s: %s", ErrBaselineFailed, strings.Join(e.Cmd, " "), e.Reason)
	if e.Status != "" && !strings.HasPrefix(e.Reason, e.Status) {
		fmt.Fprintf(&b, " [%s]", e.Status)
	}
	if e.Stderr != "" {
		b.WriteString("; stderr: " + strings.Join(strings.Split(e.Stderr, "\n"), " | "))
	}
	return b.String()
}

// Unwrap returns ErrBaselineFailed and Err (when set), for errors.Is/As.
func (e *RunError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrBaselineFailed, e.Err}
	}
	return []error{ErrBaselineFailed}
}

// tail returns the last lines of b: at most 8 lines and 1 KiB, trimmed.
func tail(b []byte) string {
	b = bytes.TrimRight(b, "\n\r\t ")
	if len(b) > 1024 {
		b = b[len(b)-1024:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Run runs argv once, cold, as a child process with stdin from /dev/null and
// stdout and stderr to temporary files (so no goroutine copies output during
// the timed window), and checks it against want. A run that does not match,
// or ends by signal, or outlives ctx, or cannot start, is a *RunError.
// argv[0] is run as given (a path, or looked up in $PATH).
func Run(ctx context.Context, argv []string, want Expect) (Result, error) {
	return run(ctx, argv, want, false)
}

// RunFirstOutput is Run with the child's standard output on a pipe that one
// goroutine reads, so that Result.FirstOutput is also known: the time from
// just before fork to the first byte the process wrote there — for a
// unikernel monitor, the guest's first console output, shortly after its
// first instruction. A run that writes nothing to stdout is a *RunError.
// The goroutine sleeps in read(2) between writes; Wall includes its wake-ups.
func RunFirstOutput(ctx context.Context, argv []string, want Expect) (Result, error) {
	return run(ctx, argv, want, true)
}

// maxPipeOutput bounds what RunFirstOutput keeps of the standard output.
const maxPipeOutput = 16 << 20

// pipeGrace is how long RunFirstOutput waits, after the process is reaped,
// for its stdout pipe to close (a descendant may still hold it).
const pipeGrace = 2 * time.Second

// pipeReader reads a child's stdout pipe: the time of the first byte, then
// everything up to maxPipeOutput.
type pipeReader struct {
	first time.Time
	buf   bytes.Buffer
	err   error
	done  chan struct{}
}

func readPipe(r *os.File) *pipeReader {
	p := &pipeReader{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		chunk := make([]byte, 32<<10)
		for {
			n, err := r.Read(chunk)
			if n > 0 {
				if p.first.IsZero() {
					p.first = time.Now()
				}
				if room := maxPipeOutput - p.buf.Len(); room > 0 {
					p.buf.Write(chunk[:min(n, room)])
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
					p.err = err
				}
				return
			}
		}
	}()
	return p
}

func run(ctx context.Context, argv []string, want Expect, pipe bool) (Result, error) {
	fail := func(status, reason string, stderr []byte, err error) (Result, error) {
		return Result{}, &RunError{Cmd: argv, Status: status, Reason: reason, Stderr: tail(stderr), Err: err}
	}
	if len(argv) == 0 {
		return fail("not started", "empty command", nil, nil)
	}
	outF, errF, cleanup, err := outputFiles()
	if err != nil {
		return fail("not started", err.Error(), nil, err)
	}
	defer cleanup()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = outF, errF
	cmd.WaitDelay = time.Second
	var pr, pw *os.File
	if pipe {
		if pr, pw, err = os.Pipe(); err != nil {
			return fail("not started", err.Error(), nil, err)
		}
		defer pr.Close()
		cmd.Stdout = pw // an *os.File: the child gets the fd itself, exec copies nothing
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		if pw != nil {
			pw.Close()
		}
		return fail("not started", "could not start: "+err.Error(), nil, err)
	}
	var reader *pipeReader
	if pipe {
		pw.Close() // the child holds its own copy
		reader = readPipe(pr)
	}
	werr := cmd.Wait()
	wall := time.Since(start)

	var stdout []byte
	var rerr1 error
	if pipe {
		select {
		case <-reader.done:
		case <-time.After(pipeGrace):
			pr.Close() // unblocks the reader
			<-reader.done
			rerr1 = fmt.Errorf("stdout still open %v after the process exited", pipeGrace)
		}
		stdout, rerr1 = reader.buf.Bytes(), errors.Join(rerr1, reader.err)
	} else {
		stdout, rerr1 = os.ReadFile(outF.Name())
	}
	stderr, rerr2 := os.ReadFile(errF.Name())
	if rerr := errors.Join(rerr1, rerr2); rerr != nil {
		return fail("", "reading its output: "+rerr.Error(), stderr, rerr)
	}
	st := cmd.ProcessState
	if ctx.Err() != nil {
		return fail(st.String(), ctx.Err().Error(), stderr, ctx.Err())
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) {
		return fail(st.String(), werr.Error(), stderr, werr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fail(st.String(), fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal()), stderr, nil)
	}
	if reason := want.check(st.ExitCode(), stdout); reason != "" {
		return fail(st.String(), reason, stderr, nil)
	}
	r := Result{Wall: wall, User: st.UserTime(), System: st.SystemTime(), Stdout: stdout, Stderr: stderr}
	if pipe {
		if reader.first.IsZero() {
			return fail(st.String(), "no output on stdout", stderr, nil)
		}
		r.FirstOutput = reader.first.Sub(start)
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
	}
	return r, nil
}

// outputFiles creates two unlinked-on-cleanup temporary files for a child's
// stdout and stderr.
func outputFiles() (out, errf *os.File, cleanup func(), err error) {
	out, err = os.CreateTemp("", "uaaf-bench-out-*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("baseline: %w", err)
	}
	errf, err = os.CreateTemp("", "uaaf-bench-err-*")
	if err != nil {
		out.Close()
		os.Remove(out.Name())
		return nil, nil, nil, fmt.Errorf("baseline: %w", err)
	}
	return out, errf, func() {
		out.Close()
		errf.Close()
		os.Remove(out.Name())
		os.Remove(errf.Name())
	}, nil
}
