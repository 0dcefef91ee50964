//go:build !shimfake

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
)

// errNoClient: this build has no client of `uaaf serve` yet.
var errNoClient = errors.New("containerd-shim-uaaf-v1 is built without a `uaaf serve` client")

// newDaemon returns the client of the node daemon at socket.
//
// TODO(lead): the `uaaf serve` client is not written yet. Until it is, this
// one only tells a missing daemon (nothing listens on the socket) from a
// present one, and refuses everything else with errNoClient.
func newDaemon(socket string) daemon.Daemon { return noClient{socket} }

type noClient struct{ socket string }

func (c noClient) Ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return daemon.Unreachable(c.socket, err)
	}
	conn.Close()
	return fmt.Errorf("daemon at %s: %w", c.socket, errNoClient)
}

func (c noClient) CreateSession(context.Context, daemon.SessionSpec) (string, error) {
	return "", errNoClient
}
func (c noClient) StartSession(context.Context, string) error { return errNoClient }
func (c noClient) WaitSession(context.Context, string) (daemon.Exit, error) {
	return daemon.Exit{}, errNoClient
}
func (c noClient) KillSession(context.Context, string) error   { return errNoClient }
func (c noClient) DeleteSession(context.Context, string) error { return errNoClient }
func (c noClient) Console(context.Context, string, bool) (io.ReadCloser, error) {
	return nil, errNoClient
}
func (c noClient) Stats(context.Context, string) (daemon.SessionStats, error) {
	return daemon.SessionStats{}, errNoClient
}
