// Package uaafd is the shim's daemon.Daemon on the node's real daemon,
// `uaaf serve`, through its Go client (session/client).
//
// # Session ids
//
// The daemon numbers its sessions from 1 and keeps them in memory only, so
// after it restarts a number the shim holds may name another container's
// session. An id this package hands out is therefore "N@T": the daemon's
// session number and the session's creation time in Unix nanoseconds. Every
// method that names a session first asks the daemon for it and treats one
// whose creation time differs as unknown (daemon.ErrNotFound): a shim never
// starts, waits on, kills or deletes a session it did not create. (A restart
// between that check and the call that follows it is not covered; a restart
// takes far longer than that window.)
//
// # Libraries
//
// A session binds the libraries its image imports. The daemon resolves each
// (a preloaded one, else NAME.hvt on its --lib-path) and creating the session
// fails, naming the library, if it cannot. The libraries a container names
// (annotation uaaf.io/libs or env UAAF_LIBS: daemon.SessionSpec.Libs) add
// nothing to that binding; they are a requirement on the node, checked once
// the session is created: each must be bound by the session or be held by
// the daemon (preloaded, or loaded for other sessions and not yet unloaded),
// else the container fails with ErrLibUnavailable. A name the image does not
// import is not an error — a pod's annotations reach all its containers.
package uaafd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// ErrLibUnavailable: a library the container names is neither bound by its
// session nor held by the node daemon.
var ErrLibUnavailable = errors.New("library not available on the node")

// Daemon is daemon.Daemon over the client of the daemon at one socket. It
// is safe for concurrent use (the client is).
type Daemon struct {
	socket string
	c      *client.Client
}

var _ daemon.Daemon = (*Daemon)(nil)

// New returns the Daemon of `uaaf serve` listening on the unix socket at
// socket. It does not connect: Ping does.
func New(socket string) *Daemon {
	return &Daemon{socket: socket, c: client.New(socket)}
}

// Close drops the client's idle connections.
func (d *Daemon) Close() error { return d.c.Close() }

// wrap maps the client's errors to daemon's: no answer from the daemon (no
// socket, nobody listening, or the connection lost mid-request) is
// daemon.ErrNoDaemon, an answer "not found" is daemon.ErrNotFound; other
// answers (invalid, busy, draining …) pass through. ctx's own end passes
// through too.
func (d *Daemon) wrap(ctx context.Context, err error) error {
	var ae *client.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrNotFound):
		return fmt.Errorf("%w: %w", daemon.ErrNotFound, err)
	case errors.As(err, &ae), ctx.Err() != nil:
		return err
	}
	// The client's own text says what Unreachable says; the system's
	// error under it is the news.
	var op *net.OpError
	if errors.Is(err, client.ErrNoDaemon) && errors.As(err, &op) {
		return daemon.Unreachable(d.socket, op)
	}
	return daemon.Unreachable(d.socket, err)
}

// ref is a session id: the daemon's number and the creation time.
type ref struct {
	n       uint64
	created int64 // Unix ns
}

func refOf(s api.Session) ref { return ref{n: s.ID, created: s.Created.UnixNano()} }

func (r ref) String() string {
	return strconv.FormatUint(r.n, 10) + "@" + strconv.FormatInt(r.created, 10)
}

func parseRef(id string) (ref, error) {
	ns, ts, ok := strings.Cut(id, "@")
	n, err1 := strconv.ParseUint(ns, 10, 64)
	t, err2 := strconv.ParseInt(ts, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return ref{}, fmt.Errorf("%w: %q is not a session id of this shim (N@CREATED)", daemon.ErrNotFound, id)
	}
	return ref{n: n, created: t}, nil
}

// lookup returns the daemon's session id if it is the one the id was given
// for.
func (d *Daemon) lookup(ctx context.Context, id string) (ref, api.Session, error) {
	r, err := parseRef(id)
	if err != nil {
		return ref{}, api.Session{}, err
	}
	s, err := d.c.Session(ctx, r.n)
	if err != nil {
		return ref{}, api.Session{}, d.wrap(ctx, err)
	}
	if err := r.same(s); err != nil {
		return ref{}, api.Session{}, err
	}
	return r, s, nil
}

// same checks that s is the session r names.
func (r ref) same(s api.Session) error {
	if s.ID != r.n || s.Created.UnixNano() != r.created {
		return fmt.Errorf("%w: session %d of the daemon was created at %s, not by this shim (the daemon restarted)",
			daemon.ErrNotFound, s.ID, s.Created.Format("15:04:05.000000000"))
	}
	return nil
}

// Ping checks that the daemon answers, if only to say that it is draining.
func (d *Daemon) Ping(ctx context.Context) error {
	_, err := d.c.Health(ctx)
	var ae *client.APIError
	if errors.As(err, &ae) {
		return nil
	}
	return d.wrap(ctx, err)
}

// CreateSession creates the session of the image at spec.Image, a host
// path inside the container's rootfs (the daemon prepares an image once
// per path, size and mtime, and reads the file only then). Its imports are
// bound now; spec.Libs is checked as the package documentation says.
// spec.Name is not sent: the daemon has no name for a session.
func (d *Daemon) CreateSession(ctx context.Context, spec daemon.SessionSpec) (string, error) {
	s, err := d.c.CreateSession(ctx, api.SessionSpec{Image: spec.Image, Args: spec.Args, MemMiB: spec.MemMiB})
	if err != nil {
		return "", d.wrap(ctx, err)
	}
	if err := d.checkLibs(ctx, s, spec.Libs); err != nil {
		if derr := d.c.DeleteSession(context.WithoutCancel(ctx), s.ID); derr != nil {
			err = fmt.Errorf("%w (and deleting session %d: %v)", err, s.ID, derr)
		}
		return "", err
	}
	return refOf(s).String(), nil
}

// checkLibs checks that every library in libs is bound by s or held by the
// daemon.
func (d *Daemon) checkLibs(ctx context.Context, s api.Session, libs []string) error {
	bound := map[string]bool{}
	for _, v := range s.Views {
		bound[v.Library] = true
	}
	for _, lib := range libs {
		if bound[lib] {
			continue
		}
		_, err := d.c.Library(ctx, lib)
		switch {
		case err == nil:
		case errors.Is(err, client.ErrNotFound):
			return fmt.Errorf("%w: %s: the image does not import it and the node daemon does not hold it (preload it with `uaaf serve --config`)",
				ErrLibUnavailable, lib)
		default:
			return fmt.Errorf("library %s: %w", lib, d.wrap(ctx, err))
		}
	}
	return nil
}

// StartSession starts a created session.
func (d *Daemon) StartSession(ctx context.Context, id string) error {
	r, _, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	_, err = d.c.StartSession(ctx, r.n)
	return d.wrap(ctx, err)
}

// WaitSession waits (in the daemon's long polls) until the session has
// ended, and says how:
//
//   - exited: Status is the guest's exit status (a guest that trapped
//     exits 255, as under `uaaf run`);
//   - killed: Killed, with a Message unless it was killed on request (the
//     daemon's --timeout, its shutdown);
//   - failed (a fault the guest's runtime could not handle, or a host
//     error): Status 1 and the daemon's reason, as `uaaf run` exits 1 with
//     its "uaaf: …" line.
func (d *Daemon) WaitSession(ctx context.Context, id string) (daemon.Exit, error) {
	r, s, err := d.lookup(ctx, id)
	if err != nil {
		return daemon.Exit{}, err
	}
	if !client.Ended(s.State) {
		if s, err = d.c.WaitSession(ctx, r.n, -1); err != nil {
			return daemon.Exit{}, d.wrap(ctx, err)
		}
		if err := r.same(s); err != nil {
			return daemon.Exit{}, err
		}
	}
	return exitOf(s), nil
}

// exitOf says how the ended session s ended.
func exitOf(s api.Session) daemon.Exit {
	e := daemon.Exit{At: s.Ended}
	switch s.State {
	case api.StateExited:
		e.Status = 255
		if s.ExitStatus != nil {
			e.Status = *s.ExitStatus
		}
	case api.StateKilled:
		e.Killed = true
		if s.Error != "" && s.Error != "killed" {
			e.Message = "uaaf: session killed: " + s.Error
		}
	default: // failed
		e.Status, e.Message = 1, "uaaf: "+s.Error
	}
	return e
}

// KillSession stops the session; one that has ended is left as it is.
func (d *Daemon) KillSession(ctx context.Context, id string) error {
	r, s, err := d.lookup(ctx, id)
	if err != nil || client.Ended(s.State) {
		return err
	}
	_, err = d.c.KillSession(ctx, r.n)
	return d.wrap(ctx, err)
}

// DeleteSession forgets the session (the daemon kills it first if it
// runs).
func (d *Daemon) DeleteSession(ctx context.Context, id string) error {
	r, _, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	return d.wrap(ctx, d.c.DeleteSession(ctx, r.n))
}

// Console streams the session's console from its first byte. The daemon
// keeps at most its --max-console bytes of it (1 MiB by default).
func (d *Daemon) Console(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	r, _, err := d.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	rc, err := d.c.Console(ctx, r.n, 0, follow)
	if err != nil {
		return nil, d.wrap(ctx, err)
	}
	return rc, nil
}

// Stats reports the session's state and the CPU time of its vCPU thread
// (so far, while it runs). The daemon does not measure a session's memory
// apart from its own: MemBytes is 0.
func (d *Daemon) Stats(ctx context.Context, id string) (daemon.SessionStats, error) {
	_, s, err := d.lookup(ctx, id)
	if err != nil {
		return daemon.SessionStats{}, err
	}
	st := daemon.SessionStats{State: "exited", CPUNanos: uint64(max(s.Timings.CPUNs, 0))}
	switch s.State {
	case api.StateCreated, api.StateRunning:
		st.State = s.State
	}
	return st, nil
}
