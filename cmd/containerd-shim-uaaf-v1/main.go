// Command containerd-shim-uaaf-v1 is the containerd runtime v2 shim of uaaf:
// containerd starts it for runtime "io.containerd.uaaf.v1" (`ctr run
// --runtime io.containerd.uaaf.v1`, or a Kubernetes RuntimeClass whose
// handler is a CRI runtime of that type) and it serves the task API
// (containerd.task.v2.Task over ttrpc) by handing each container's session
// to the node's resident uaaf daemon, so all sessions on a node share that
// daemon's preloaded library functions. It never runs a monitor itself.
//
// It is built on containerd 1.7's shim library (runtime/v2/shim), whose
// start protocol (the shim prints its socket address) is the one containerd
// 1.6 and 1.7 speak and containerd 2.x still accepts. docs/containerd.md
// says how to install and configure it.
//
// The daemon's socket is $UAAF_SOCKET, else /run/uaaf/uaaf.sock; containerd
// passes its environment on to its shims.
package main

import (
	"context"
	"fmt"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/pkg/shutdown"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/ttrpc"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/task"
	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/uaafd"
)

// runtimeName is the containerd runtime this shim serves.
const runtimeName = "io.containerd.uaaf.v1"

func main() {
	plugin.Register(&plugin.Registration{
		Type:     plugin.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugin.EventPlugin, plugin.InternalPlugin},
		InitFn:   initTaskService,
	})
	shim.RunManager(context.Background(), manager{})
}

// initTaskService builds the task service of a serving shim process.
func initTaskService(ic *plugin.InitContext) (interface{}, error) {
	pp, err := ic.GetByID(plugin.EventPlugin, "publisher")
	if err != nil {
		return nil, fmt.Errorf("uaaf shim: event publisher: %w", err)
	}
	ss, err := ic.GetByID(plugin.InternalPlugin, "shutdown")
	if err != nil {
		return nil, fmt.Errorf("uaaf shim: shutdown service: %w", err)
	}
	svc := task.New(ic.Context, task.Config{
		Daemon:    newDaemon(daemon.Socket()),
		Publisher: pp.(shim.Publisher),
		Shutdown:  ss.(shutdown.Service).Shutdown,
	})
	return ttrpcTask{svc}, nil
}

// newDaemon returns the client of the node daemon (`uaaf serve`) at socket.
func newDaemon(socket string) daemon.Daemon { return uaafd.New(socket) }

// ttrpcTask registers the task service on the shim's ttrpc server.
type ttrpcTask struct{ svc taskAPI.TaskService }

// RegisterTTRPC is called once by the shim library.
func (t ttrpcTask) RegisterTTRPC(s *ttrpc.Server) error {
	taskAPI.RegisterTaskService(s, t.svc)
	return nil
}
