package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrInUse: another daemon already serves the socket.
var ErrInUse = errors.New("daemon: socket in use")

// ListenUnix listens on the unix socket at path with mode 0660, creating
// its directory (0755) if needed. A socket where a daemon answers is
// refused (ErrInUse); a stale one — left by a daemon that died — is
// removed first. Anything else at path is left alone and refused.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("daemon: socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("daemon: %s exists and is not a socket; remove it or choose another --socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("%w: a uaaf daemon already listens on %s", ErrInUse, path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("daemon: %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil { // stale: nobody listens
			return nil, fmt.Errorf("daemon: remove stale socket: %w", err)
		}
	}
	// Create the socket with 0660 from the start: no window in which others
	// could connect.
	old := syscall.Umask(0o117)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("daemon: listen on %s: %w", path, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return l, nil
}

// ListenTCP listens on addr, which must be a loopback address unless
// allowRemote: the TCP API needs a bearer token, and even then a
// non-loopback address is a choice to make explicitly.
func ListenTCP(addr string, allowRemote bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("daemon: --listen %q: want HOST:PORT, e.g. 127.0.0.1:7380", addr)
	}
	if !allowRemote {
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("daemon: --listen %s is not a loopback address; pass --allow-remote to serve other hosts (the bearer token is then all that guards the API)", addr)
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("daemon: listen on %s: %w", addr, err)
	}
	return l, nil
}

// Listener is one listener Serve serves the API on: requests on it must
// carry Token as a bearer token, if it is set.
type Listener struct {
	net.Listener
	Token string
}

// Serve serves the API on every listener until ctx is done, then shuts
// down: it stops accepting connections, lets running sessions finish
// within drain, stops the rest, answers what is in flight, and closes the
// daemon. It returns nil after such a shutdown.
func (d *Daemon) Serve(ctx context.Context, drain time.Duration, ls ...Listener) error {
	errc := make(chan error, len(ls))
	var servers []*http.Server
	for _, l := range ls {
		srv := &http.Server{
			Handler:           logRequests(d.log, d.Handler(l.Token)),
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	d.log.Info("shutting down", "drain_timeout", drain)
	var wg sync.WaitGroup
	shutCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, srv := range servers {
		wg.Add(1)
		go func() { // closes the listeners now; waits for idle connections
			defer wg.Done()
			srv.Shutdown(shutCtx)
		}()
	}
	drainCtx, stop := context.WithTimeout(context.Background(), drain)
	d.Drain(drainCtx)
	stop()
	d.Close() // stops what is still running; long polls and streams end
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, srv := range servers {
			srv.Close()
		}
		<-done
	}
	d.log.Info("stopped")
	return serveErr
}
