//go:build !shimfake

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// newDaemon returns the client of the node daemon (`uaaf serve`) at socket.
func newDaemon(socket string) daemon.Daemon {
	return &uaafDaemon{socket: socket, c: client.New(socket)}
}

// uaafDaemon is daemon.Daemon over the daemon's Go client. Session ids are
// the daemon's session numbers, in decimal.
type uaafDaemon struct {
	socket string
	c      *client.Client
}

// wrap maps the client's errors to the ones the shim tests for.
func (d *uaafDaemon) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrNoDaemon):
		return daemon.Unreachable(d.socket, err)
	case errors.Is(err, client.ErrNotFound):
		return fmt.Errorf("%w: %w", daemon.ErrNotFound, err)
	}
	return err
}

func parseID(id string) (uint64, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: session id %q", daemon.ErrNotFound, id)
	}
	return n, nil
}

func (d *uaafDaemon) Ping(ctx context.Context) error {
	_, err := d.c.Health(ctx)
	var ae *client.APIError
	if errors.As(err, &ae) { // it answers, if only to say it is draining
		return nil
	}
	return d.wrap(err)
}

// CreateSession creates the session from the image path inside the
// container's rootfs (the daemon prepares it once per path, size and
// mtime). The libraries the session imports are the image's own; the
// daemon resolves each to a preloaded library or NAME.hvt on its library
// path. spec.Libs (the uaaf.io/libs annotation) must all be among those
// the daemon knows or can find: a name it cannot resolve fails here,
// before the container starts.
func (d *uaafDaemon) CreateSession(ctx context.Context, spec daemon.SessionSpec) (string, error) {
	s, err := d.c.CreateSession(ctx, api.SessionSpec{Image: spec.Image, Args: spec.Args, MemMiB: spec.MemMiB})
	if err != nil {
		return "", d.wrap(err)
	}
	for _, lib := range spec.Libs {
		found := false
		for _, v := range s.Views {
			found = found || v.Library == lib
		}
		if !found {
			d.c.DeleteSession(ctx, s.ID)
			return "", fmt.Errorf("annotation uaaf.io/libs names %s, which %s does not import", lib, spec.Image)
		}
	}
	return strconv.FormatUint(s.ID, 10), nil
}

func (d *uaafDaemon) StartSession(ctx context.Context, id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	_, err = d.c.StartSession(ctx, n)
	return d.wrap(err)
}

func (d *uaafDaemon) WaitSession(ctx context.Context, id string) (daemon.Exit, error) {
	n, err := parseID(id)
	if err != nil {
		return daemon.Exit{}, err
	}
	s, err := d.c.WaitSession(ctx, n, -1)
	if err != nil {
		return daemon.Exit{}, d.wrap(err)
	}
	e := daemon.Exit{At: s.Ended}
	switch s.State {
	case api.StateExited:
		e.Status = *s.ExitStatus
	case api.StateKilled:
		e.Killed = true
		if s.Error != "killed" {
			e.Message = "uaaf: session " + id + " " + s.Error
		}
	case api.StateFailed: // uaaf's own error, as `uaaf run` exits 1 with its line
		e.Status, e.Message = 1, "uaaf: "+s.Error
	}
	return e, nil
}

func (d *uaafDaemon) KillSession(ctx context.Context, id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	_, err = d.c.KillSession(ctx, n)
	return d.wrap(err)
}

func (d *uaafDaemon) DeleteSession(ctx context.Context, id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	return d.wrap(d.c.DeleteSession(ctx, n))
}

func (d *uaafDaemon) Console(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	n, err := parseID(id)
	if err != nil {
		return nil, err
	}
	rc, err := d.c.Console(ctx, n, 0, follow)
	return rc, d.wrap(err)
}

// Stats reports what the daemon knows of a session: its state, and its
// vCPU thread's CPU time once it has ended (the daemon measures it at the
// end). Memory per session is not measured separately: its pages are in
// the daemon's Pss.
func (d *uaafDaemon) Stats(ctx context.Context, id string) (daemon.SessionStats, error) {
	n, err := parseID(id)
	if err != nil {
		return daemon.SessionStats{}, err
	}
	s, err := d.c.Session(ctx, n)
	if err != nil {
		return daemon.SessionStats{}, d.wrap(err)
	}
	st := daemon.SessionStats{State: "exited", CPUNanos: uint64(s.Timings.CPUNs)}
	switch s.State {
	case api.StateCreated, api.StateRunning:
		st.State = s.State
	}
	return st, nil
}
