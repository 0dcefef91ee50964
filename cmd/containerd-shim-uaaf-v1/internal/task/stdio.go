package task

import (
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/containerd/fifo"
	"github.com/containerd/log"
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
	if _, err := io.Copy(w, console); err != nil {
		log.L.WithError(err).Warn("uaaf shim: console copy")
	}
}

// closeOutput writes msg (if any) and a newline to stderr, then closes stdout
// and stderr, once. containerd's client sees EOF on both.
func (st *stdio) closeOutput(msg string) {
	st.outOnce.Do(func() {
		if st.stderr != nil {
			if msg != "" {
				_, _ = io.WriteString(st.stderr, msg+"\n")
			}
			st.stderr.Close()
		}
		if st.stdout != nil {
			st.stdout.Close()
		}
	})
}

// closeInput closes stdin, once.
func (st *stdio) closeInput() {
	st.inOnce.Do(func() {
		if st.stdin != nil {
			st.stdin.Close()
		}
	})
}
