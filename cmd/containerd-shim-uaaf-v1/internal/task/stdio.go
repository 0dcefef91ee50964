package task

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/fifo"
	"github.com/containerd/log"
	"golang.org/x/sys/unix"
)

// stdio holds a task's FIFOs. stdin is drained into io.Discard by its own
// goroutine; stdout receives the session's console (copyConsole); stderr
// receives uaaf's message for the session (closeOutput). Nil files stand for
// paths containerd did not give.
type stdio struct {
	stdinPath, stdoutPath, stderrPath string

	stdin, stdout, stderr io.ReadWriteCloser
	inOnce, outOnce       sync.Once
}

// openStdio opens the task's FIFOs: stdin for reading, stdout and stderr for
// writing. containerd's client has opened the other ends already, so the
// opens do not block for long; ctx bounds them.
func openStdio(ctx context.Context, stdin, stdout, stderr string) (*stdio, error) {
	st := &stdio{stdinPath: stdin, stdoutPath: stdout, stderrPath: stderr}
	open := func(path string, flag int) (io.ReadWriteCloser, error) {
		if path == "" {
			return nil, nil
		}
		f, err := fifo.OpenFifo(ctx, path, flag, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return f, nil
	}
	var err error
	if st.stdin, err = open(stdin, syscall.O_RDONLY|syscall.O_NONBLOCK); err != nil {
		return nil, err
	}
	if st.stdout, err = open(stdout, syscall.O_WRONLY); err != nil {
		st.closeInput()
		return nil, err
	}
	if st.stderr, err = open(stderr, syscall.O_WRONLY); err != nil {
		st.closeInput()
		st.closeOutput("")
		return nil, err
	}
	if st.stdin != nil {
		go func(r io.Reader) { _, _ = io.Copy(io.Discard, r) }(st.stdin)
	}
	return st, nil
}

// copyConsole copies the session's console into stdout (or discards it) until
// the console stream ends, then closes the stream and done.
func (st *stdio) copyConsole(console io.ReadCloser, done chan<- struct{}) {
	defer close(done)
	defer console.Close()
	w := io.Writer(io.Discard)
	if st.stdout != nil {
		w = st.stdout
	}
	_, err := io.Copy(w, console)
	switch {
	case errors.Is(err, syscall.EPIPE):
		// Nobody reads stdout any more (`ctr run -d` has exited).
		log.L.WithError(err).Debug("uaaf shim: console copy")
	case err != nil:
		log.L.WithError(err).Warn("uaaf shim: console copy")
	}
}

// drainWait bounds how long closeOutput waits for the reader of a FIFO to
// take what is still in it.
const drainWait = 2 * time.Second

// closeOutput writes msg (if any) and a newline to stderr, waits (up to
// drainWait) until the readers have taken everything written to stdout and
// stderr, then closes both, once. containerd's client sees EOF on both.
//
// The wait matters because the exit is reported right after: ctr 1.6 closes
// its ends of the FIFOs as soon as it learns the exit, before it has copied
// what they hold, and would lose a short session's output.
func (st *stdio) closeOutput(msg string) {
	st.outOnce.Do(func() {
		if st.stderr != nil && msg != "" {
			_, _ = io.WriteString(st.stderr, msg+"\n")
		}
		deadline := time.Now().Add(drainWait)
		for _, f := range []io.ReadWriteCloser{st.stdout, st.stderr} {
			if f != nil {
				waitDrained(f, deadline)
				f.Close()
			}
		}
	})
}

// waitDrained polls unread(f) until it is 0, cannot be known, nobody has
// the FIFO open for reading any more (`ctr run -d` has exited: what it holds
// will never be read), or deadline passes.
func waitDrained(f io.ReadWriteCloser, deadline time.Time) {
	for {
		n, err := unread(f)
		if err != nil || n == 0 || readerGone(f) || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// control runs fn on the file descriptor under f.
func control(f io.ReadWriteCloser, fn func(fd int)) error {
	sc, ok := f.(syscall.Conn)
	if !ok {
		return errors.New("not a file")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// unread returns how many bytes the pipe under f holds (FIONREAD, which is
// TIOCINQ on Linux; it works on either end of a pipe).
func unread(f io.ReadWriteCloser) (int, error) {
	var n int
	var ierr error
	if err := control(f, func(fd int) { n, ierr = unix.IoctlGetInt(fd, unix.TIOCINQ) }); err != nil {
		return 0, err
	}
	return n, ierr
}

// readerGone reports whether f, the writing end of a pipe, has no reader
// left: Linux then reports POLLERR on it. Anything else (an error of poll
// itself included) counts as a reader.
func readerGone(f io.ReadWriteCloser) bool {
	var gone bool
	_ = control(f, func(fd int) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(p, 0); err == nil && n == 1 {
			gone = p[0].Revents&unix.POLLERR != 0
		}
	})
	return gone
}

// closeInput closes stdin, once.
func (st *stdio) closeInput() {
	st.inOnce.Do(func() {
		if st.stdin != nil {
			st.stdin.Close()
		}
	})
}
