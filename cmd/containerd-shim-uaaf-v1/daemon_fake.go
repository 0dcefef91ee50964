//go:build shimfake

package main

import (
	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/fakedaemon"
)

// newDaemon returns the client of the test daemon (fakedaemon.Serve) at
// socket. Only the `shimfake` build used by the end-to-end test has it.
func newDaemon(socket string) daemon.Daemon { return fakedaemon.Dial(socket) }
