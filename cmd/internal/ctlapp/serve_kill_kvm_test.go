package ctlapp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// served is a `uaaf serve` child in a process group of its own.
type served struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

// writeConfig writes cfg as JSON to dir/uaaf.json and returns its path.
func writeConfig(t *testing.T, dir string, cfg map[string]any) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "uaaf.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startServe starts `bin serve` on sock with the config at cfg and a pool
// of poolSize shells, and waits for its ready line. A daemon still running
// when the test ends is killed; one the test stopped itself (received
// from exited) is left alone.
func startServe(t *testing.T, bin, sock, cfg string, poolSize int) *served {
	t.Helper()
	s := &served{cmd: exec.Command(bin, "serve", "--socket", sock, "--config", cfg, "--pool-size", strconv.Itoa(poolSize)),
		stderr: &syncBuffer{}, exited: make(chan error, 1)}
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	ready := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		ready <- line
		r.WriteTo(io.Discard)
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "uaaf serve: ready on unix:"+sock) {
			t.Fatalf("first stdout line %q; stderr:\n%s", line, s.stderr.String())
		}
	case err := <-s.exited:
		t.Fatalf("uaaf serve exited before ready: %v\n%s", err, s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("uaaf serve not ready after 30s:\n%s", s.stderr.String())
	}
	return s
}

// procs returns the pids of the processes whose process group is pgid or
// whose parent is ppid.
func procs(pgid, ppid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parens.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 3 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		pg, _ := strconv.Atoi(f[2])
		if pg == pgid || pp == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// fdKinds counts pid's open file descriptors by what they are: "kvm"
// (/dev/kvm, VMs, vCPUs), "memfd", "socket", "shm" (files under /dev/shm),
// "file" (other paths), "other".
func fdKinds(pid int) map[string]int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	kinds := map[string]int{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		switch {
		case err != nil:
		case strings.Contains(l, "kvm"):
			kinds["kvm"]++
		case strings.HasPrefix(l, "/memfd:"):
			kinds["memfd"]++
		case strings.HasPrefix(l, "socket:"):
			kinds["socket"]++
		case strings.HasPrefix(l, "/dev/shm/"):
			kinds["shm"]++
		case strings.HasPrefix(l, "/"):
			kinds["file"]++
		default:
			kinds["other"]++
		}
	}
	return kinds
}

// shmEntries lists /dev/shm.
func shmEntries() map[string]bool {
	ents, _ := os.ReadDir("/dev/shm")
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// TestServeKill9 kills a real `uaaf serve` with SIGKILL while it holds
// running sessions, library instances, a created session and a request in
// flight, and checks what the death leaves: the request fails, no process
// of the daemon's group or parented by it remains, nothing new is in
// /dev/shm (the daemon keeps guest memory in memfds, which die with it),
// and the socket file it could not remove does not stop the next daemon
// from starting on the same path and serving; that one, stopped with
// SIGTERM, removes its socket.
func TestServeKill9(t *testing.T) {
	kvmtest.Require(t)
	dir := t.TempDir()
	bin, err := kvmtest.BuildUAAF(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"libraries": []map[string]any{
			{"name": "sha256", "path": kvmtest.LibraryImage(t, "sha256"), "pin": true},
			{"name": "crc32", "path": kvmtest.LibraryImage(t, "crc32"), "pin": true},
			{"name": "base64", "path": kvmtest.LibraryImage(t, "base64"), "pin": true},
			{"name": "sort", "path": kvmtest.LibraryImage(t, "sort"), "pin": true},
		},
		"images": []map[string]any{
			{"name": "demo", "path": kvmtest.GuestImage(t, "demo"), "mem_mib": 8},
			{"name": "idle", "path": kvmtest.GuestImage(t, "idle"), "mem_mib": 8},
		},
	}
	cfgPath := writeConfig(t, dir, cfg)
	sock := filepath.Join(dir, "uaaf.sock")
	shm := shmEntries()

	a := startServe(t, bin, sock, cfgPath, 2)
	pid := a.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(sock)
	defer c.Close()
	var live []uint64
	for range 3 {
		s, err := c.CreateSession(ctx, api.SessionSpec{Image: "idle", Start: true})
		if err != nil {
			t.Fatalf("create: %v\n%s", err, a.stderr.String())
		}
		live = append(live, s.ID)
	}
	if _, err := c.CreateSession(ctx, api.SessionSpec{Image: "demo"}); err != nil { // created, not started
		t.Fatal(err)
	}
	inflight := make(chan error, 1)
	go func() {
		_, err := c.Invoke(ctx, api.Invoke{Image: "idle"})
		inflight <- err
	}()
	for _, id := range live { // each holds an instance of all four libraries
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var out []byte
			if rc, err := c.Console(ctx, id, 0, false); err == nil {
				out, _ = io.ReadAll(rc)
				rc.Close()
			}
			if strings.Contains(string(out), "idle: ready") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session %d not ready:\n%s", id, out)
			}
		}
	}
	if h, err := c.Health(ctx); err != nil || h.Sessions != 5 {
		t.Fatalf("health before the kill: %+v, %v (want 5 sessions: 3 idle, 1 created, 1 invoked)", h, err)
	}
	fds := fdKinds(pid)
	t.Logf("daemon %d before SIGKILL: fds %v, threads %s", pid, fds, procField(fmt.Sprintf("/proc/%d/status", pid), "Threads"))
	if fds["shm"] != 0 || fds["kvm"] == 0 || fds["memfd"] == 0 {
		t.Errorf("daemon fds %v: want KVM fds and memfds, nothing in /dev/shm", fds)
	}
	children := procs(-1, pid)

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("daemon exit: %v, want killed by SIGKILL", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon not dead 30s after SIGKILL")
	}
	select {
	case err := <-inflight:
		if err == nil {
			t.Error("the invocation in flight succeeded after the daemon died")
		}
	case <-time.After(30 * time.Second):
		t.Error("the invocation in flight did not fail after the daemon died")
	}
	if left := procs(pid, pid); len(left) > 0 || len(children) > 0 {
		t.Errorf("processes of the dead daemon: %v (children before the kill: %v)", left, children)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("/proc/%d still exists", pid)
	}
	for name := range shmEntries() {
		if !shm[name] && strings.Contains(name, "uaaf") {
			t.Errorf("/dev/shm/%s appeared", name)
		}
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the killed daemon's socket: %v, %v; want the stale socket file left behind", fi, err)
	}
	if _, err := c.Health(ctx); !errors.Is(err, client.ErrNoDaemon) {
		t.Errorf("health with a stale socket: %v, want ErrNoDaemon", err)
	}

	// The next daemon starts on the same path and serves.
	b2 := startServe(t, bin, sock, cfgPath, 2)
	r, err := c.Invoke(ctx, api.Invoke{Image: "demo"})
	if err != nil || r.ExitStatus == nil || *r.ExitStatus != 0 {
		t.Fatalf("demo on the new daemon: %+v, %v\n%s", r, err, b2.stderr.String())
	}
	if ss, err := c.Sessions(ctx); err != nil || len(ss) != 0 {
		t.Errorf("sessions on the new daemon: %+v, %v (the dead one's must be gone with it)", ss, err)
	}
	b2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b2.exited:
		if err != nil {
			t.Errorf("second daemon after SIGTERM: %v\n%s", err, b2.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("second daemon still running a minute after SIGTERM")
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after a clean stop: %v, want it removed", err)
	}
}
