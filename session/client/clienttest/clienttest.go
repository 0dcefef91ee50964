// Package clienttest starts a real uaaf daemon inside a test process, on a
// unix socket of its own, for tests of the client and of the commands built
// on it.
package clienttest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/daemon"
)

// Server is a daemon serving in-process.
type Server struct {
	// Socket is the daemon's unix socket.
	Socket string
	// Daemon is the daemon itself.
	Daemon *daemon.Daemon

	cancel context.CancelFunc
	done   chan error
	stop   sync.Once
	err    error
}

// Start requires KVM (kvmtest.Require) and the built library images, then
// starts a daemon with opts serving its API on a unix socket in a fresh
// temporary directory, and on each of extra. Fields of opts left zero get
// test-friendly values: 8 MiB sessions, a pool of 2 VMs, libraries found in
// libfuncs/build. The daemon stops when the test ends, if Stop was not
// called before.
func Start(t testing.TB, opts daemon.Options, extra ...daemon.Listener) *Server {
	t.Helper()
	kvmtest.Require(t)
	kvmtest.LibraryImage(t, "sha256")
	if opts.MemMiB == 0 {
		opts.MemMiB = 8
	}
	if opts.Pool == "" {
		opts.Pool = "fixed=2"
	}
	if opts.LibPaths == nil {
		opts.LibPaths = []string{filepath.Join(kvmtest.RepoRoot(t), "libfuncs", "build")}
	}
	// A short directory: a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "uaafc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Socket: filepath.Join(dir, "uaaf.sock"), done: make(chan error, 1)}
	l, err := daemon.ListenUnix(s.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if s.Daemon, err = daemon.New(opts); err != nil {
		l.Close()
		for _, x := range extra {
			x.Close()
		}
		t.Fatalf("daemon.New: %v", err)
	}
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	ls := append([]daemon.Listener{{Listener: l}}, extra...)
	go func() { s.done <- s.Daemon.Serve(ctx, time.Second, ls...) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("daemon.Serve: %v", err)
		}
	})
	return s
}

// Stop shuts the daemon down as SIGTERM does (running sessions get a
// second to finish) and returns what Serve returned. Later calls wait for
// the first and return the same. Safe for concurrent use.
func (s *Server) Stop() error {
	s.stop.Do(func() {
		s.cancel()
		s.err = <-s.done
	})
	return s.err
}
