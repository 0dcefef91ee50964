package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/log"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/task"
)

// manager implements shim.Manager: the `start` and `delete` actions that
// containerd runs in the bundle directory. Every container gets a shim
// process of its own.
type manager struct{}

// Name is the runtime name.
func (manager) Name() string { return runtimeName }

// Start refuses when no node daemon answers, else starts the serving shim
// process on a new socket and returns its address (containerd 1.6/1.7 read
// it from stdout).
func (manager) Start(ctx context.Context, id string, opts shim.StartOpts) (_ string, retErr error) {
	socket := daemon.Socket()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := newDaemon(socket).Ping(pctx); err != nil {
		return "", err
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own binary: %w", err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	args := []string{"-namespace", ns, "-id", id, "-address", opts.Address}
	if opts.Debug {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = cwd
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	address, err := shim.SocketAddress(ctx, opts.Address, id)
	if err != nil {
		return "", err
	}
	l, err := shim.NewSocket(address)
	if err != nil {
		if !shim.SocketEaddrinuse(err) {
			return "", fmt.Errorf("create shim socket: %w", err)
		}
		// A shim of a previous life of this container left its socket.
		if shim.CanConnect(address) {
			return "", fmt.Errorf("a shim already serves %s: %w", address, err)
		}
		if err := shim.RemoveSocket(address); err != nil {
			return "", fmt.Errorf("remove stale shim socket: %w", err)
		}
		if l, err = shim.NewSocket(address); err != nil {
			return "", fmt.Errorf("create shim socket: %w", err)
		}
	}
	defer func() {
		if retErr != nil {
			l.Close()
			_ = shim.RemoveSocket(address)
		}
	}()
	if err := shim.WriteAddress("address", address); err != nil {
		return "", err
	}
	f, err := l.File()
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f} // fd 3: the library serves on it
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start serving shim: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = cmd.Process.Kill()
		}
	}()
	go func() { _ = cmd.Wait() }()
	if err := shim.AdjustOOMScore(cmd.Process.Pid); err != nil {
		return "", fmt.Errorf("adjust shim OOM score: %w", err)
	}
	return address, nil
}

// Stop cleans up after a serving shim that is gone (containerd runs
// `delete` when it cannot reach it): it kills and deletes the container's
// session if the daemon still has it, and unmounts the rootfs. The task is
// reported killed (137), as runc's shim reports its dead containers.
func (manager) Stop(ctx context.Context, id string) (shim.StopStatus, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return shim.StopStatus{}, err
	}
	bundle := filepath.Join(filepath.Dir(cwd), id)
	lg := log.G(ctx).WithField("id", id)
	if sid, err := os.ReadFile(filepath.Join(bundle, task.SessionFile)); err == nil {
		d := newDaemon(daemon.Socket())
		if err := d.KillSession(ctx, string(sid)); err != nil && !errors.Is(err, daemon.ErrNotFound) {
			lg.WithError(err).Warn("uaaf shim: kill session")
		}
		if err := d.DeleteSession(ctx, string(sid)); err != nil && !errors.Is(err, daemon.ErrNotFound) {
			lg.WithError(err).Warn("uaaf shim: delete session")
		}
		_ = os.Remove(filepath.Join(bundle, task.SessionFile))
	}
	if err := mount.UnmountAll(filepath.Join(bundle, "rootfs"), syscall.MNT_DETACH); err != nil {
		lg.WithError(err).Warn("uaaf shim: unmount rootfs")
	}
	return shim.StopStatus{ExitedAt: time.Now(), ExitStatus: int(task.KilledStatus)}, nil
}
