// Package fakedaemon is a stand-in for the node daemon (`uaaf serve`) in
// the unit tests of the shim's task service (package task): Fake implements
// daemon.Daemon in memory, without KVM, so that those tests run anywhere and
// can make the daemon behave as they need; Serve/Dial carry it over a unix
// socket, so that a test can take the daemon away and bring it back as a
// daemon restart would. The shim itself talks to the real daemon (package
// uaafd), and so do the end-to-end tests.
//
// A fake session does not run its image; it reads it (to prove the shim gave
// a readable host path) and behaves by its arguments:
//
//	console   "image sha256:<first 12 hex digits> <size> bytes\n"
//	          "args: <args joined by spaces>\n"
//	          "mem: <MemMiB> MiB\n"
//	          "libs: <name>=<refs> ...\n"       (when it has libraries)
//	exit=N    the session exits with status N (default 0)
//	run       the session runs until KillSession
//
// Libraries are refcounted as the real registry does: a session takes a
// reference on each library at CreateSession and drops it when it ends; a
// name that was not preloaded with New is refused.
//
// Nothing here is linked into the shim: only tests import it.
package fakedaemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
)

// ErrUnknownLib: a session names a library the fake has not preloaded.
var ErrUnknownLib = errors.New("fakedaemon: library not preloaded")

// ErrState: the operation does not fit the session's state.
var ErrState = errors.New("fakedaemon: wrong session state")

// Fake is an in-memory daemon.Daemon. Its methods are safe for concurrent
// use; mu guards everything, cond (on mu) signals console output and ends.
type Fake struct {
	mu       sync.Mutex
	cond     *sync.Cond
	next     int
	sessions map[string]*session
	refs     map[string]int // preloaded library → references
}

type session struct {
	spec    daemon.SessionSpec
	state   string // created, running, exited
	console bytes.Buffer
	exit    daemon.Exit
	started time.Time
	run     bool // runs until killed
	status  int
}

// New returns a Fake with the named libraries preloaded (refcount 0).
func New(preload ...string) *Fake {
	f := &Fake{sessions: map[string]*session{}, refs: map[string]int{}}
	f.cond = sync.NewCond(&f.mu)
	for _, l := range preload {
		f.refs[l] = 0
	}
	return f
}

// Refs returns a preloaded library's reference count, or -1 for a library
// the fake does not know.
func (f *Fake) Refs(lib string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.refs[lib]
	if !ok {
		return -1
	}
	return n
}

// Sessions returns the ids of the sessions not yet deleted, sorted.
func (f *Fake) Sessions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.sessions))
	for id := range f.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Spec returns the spec a session was created with.
func (f *Fake) Spec(id string) (daemon.SessionSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return daemon.SessionSpec{}, false
	}
	return s.spec, true
}

// Ping always succeeds.
func (f *Fake) Ping(context.Context) error { return nil }

// CreateSession reads the image, takes library references and parses the
// behaviour arguments.
func (f *Fake) CreateSession(_ context.Context, spec daemon.SessionSpec) (string, error) {
	img, err := os.ReadFile(spec.Image)
	if err != nil {
		return "", fmt.Errorf("fakedaemon: image: %w", err)
	}
	s := &session{spec: spec, state: "created"}
	for _, a := range spec.Args {
		switch {
		case a == "run":
			s.run = true
		case strings.HasPrefix(a, "exit="):
			n, err := strconv.Atoi(strings.TrimPrefix(a, "exit="))
			if err != nil || n < 0 || n > 255 {
				return "", fmt.Errorf("fakedaemon: bad %q", a)
			}
			s.status = n
		}
	}
	sum := sha256.Sum256(img)
	fmt.Fprintf(&s.console, "image sha256:%s %d bytes\n", hex.EncodeToString(sum[:6]), len(img))
	fmt.Fprintf(&s.console, "args: %s\n", strings.Join(spec.Args, " "))
	fmt.Fprintf(&s.console, "mem: %d MiB\n", spec.MemMiB)

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range spec.Libs {
		if _, ok := f.refs[l]; !ok {
			return "", fmt.Errorf("%w: %q", ErrUnknownLib, l)
		}
	}
	if len(spec.Libs) > 0 {
		var parts []string
		for _, l := range spec.Libs {
			f.refs[l]++
			parts = append(parts, fmt.Sprintf("%s=%d", l, f.refs[l]))
		}
		fmt.Fprintf(&s.console, "libs: %s\n", strings.Join(parts, " "))
	}
	f.next++
	id := fmt.Sprintf("s%d", f.next)
	f.sessions[id] = s
	return id, nil
}

func (f *Fake) lookup(id string) (*session, error) {
	s, ok := f.sessions[id]
	if !ok {
		return nil, fmt.Errorf("fakedaemon: %q: %w", id, daemon.ErrNotFound)
	}
	return s, nil
}

// end records a session's end and drops its library references.
// Precondition: f.mu is held.
func (f *Fake) end(s *session, ex daemon.Exit) {
	if s.state == "exited" {
		return
	}
	s.state = "exited"
	ex.At = time.Now()
	s.exit = ex
	for _, l := range s.spec.Libs {
		f.refs[l]--
	}
	f.cond.Broadcast()
}

// StartSession runs a created session: it ends at once unless it was given
// the "run" argument.
func (f *Fake) StartSession(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(id)
	if err != nil {
		return err
	}
	if s.state != "created" {
		return fmt.Errorf("%w: start %s: %s", ErrState, id, s.state)
	}
	s.state = "running"
	s.started = time.Now()
	f.cond.Broadcast()
	if !s.run {
		f.end(s, daemon.Exit{Status: s.status})
	}
	return nil
}

// WaitSession blocks until the session has ended or ctx is done.
func (f *Fake) WaitSession(ctx context.Context, id string) (daemon.Exit, error) {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.cond.Broadcast()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		s, err := f.lookup(id)
		if err != nil {
			return daemon.Exit{}, err
		}
		if s.state == "exited" {
			return s.exit, nil
		}
		if err := ctx.Err(); err != nil {
			return daemon.Exit{}, err
		}
		f.cond.Wait()
	}
}

// KillSession ends a created or running session as killed.
func (f *Fake) KillSession(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(id)
	if err != nil {
		return err
	}
	f.end(s, daemon.Exit{Killed: true})
	return nil
}

// DeleteSession forgets an ended session.
func (f *Fake) DeleteSession(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(id)
	if err != nil {
		return err
	}
	if s.state != "exited" {
		return fmt.Errorf("%w: delete %s: %s", ErrState, id, s.state)
	}
	delete(f.sessions, id)
	f.cond.Broadcast()
	return nil
}

// Console returns the console from its beginning; see daemon.Daemon.
func (f *Fake) Console(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.lookup(id); err != nil {
		return nil, err
	}
	return &consoleReader{f: f, id: id, follow: follow, ctx: ctx}, nil
}

// ReadConsole copies console bytes from offset off into p. With follow it
// blocks while the session has produced nothing new and has not ended (or
// until ctx is done); it returns io.EOF at the end of the output.
func (f *Fake) ReadConsole(ctx context.Context, id string, off int, p []byte, follow bool) (int, error) {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.cond.Broadcast()
	})
	defer stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		s, err := f.lookup(id)
		if err != nil {
			return 0, err
		}
		// Output appears when the session starts.
		if s.state != "created" && off < s.console.Len() {
			return copy(p, s.console.Bytes()[off:]), nil
		}
		if !follow || s.state == "exited" {
			return 0, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		f.cond.Wait()
	}
}

type consoleReader struct {
	f      *Fake
	id     string
	follow bool
	ctx    context.Context
	off    int
}

func (r *consoleReader) Read(p []byte) (int, error) {
	n, err := r.f.ReadConsole(r.ctx, r.id, r.off, p, r.follow)
	r.off += n
	return n, err
}

func (r *consoleReader) Close() error { return nil }

// Stats reports the session's memory as its MemMiB and its CPU time as the
// time it has been running.
func (f *Fake) Stats(_ context.Context, id string) (daemon.SessionStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(id)
	if err != nil {
		return daemon.SessionStats{}, err
	}
	st := daemon.SessionStats{State: s.state, MemBytes: uint64(s.spec.MemMiB) << 20}
	if s.state == "running" {
		st.CPUNanos = uint64(time.Since(s.started))
	}
	return st, nil
}

var _ daemon.Daemon = (*Fake)(nil)
