package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// TestContainerdE2E runs real unikernels under containerd through the shim
// and the node's `uaaf serve` (see node_test.go), with ctr:
//
//   - exitcode.hvt N prints "exitcode: exiting with N" and exits N;
//   - output.hvt prints its command line;
//   - idle.hvt calls base64, sha256, crc32 and sort once each, prints
//     "idle: ready" and waits until it is stopped;
//
// and uaaf's guest runtime frames each console with "uaaf guest: starting,
// mem N MiB" and, when the guest exits by itself, "uaaf guest: exit N".
func TestContainerdE2E(t *testing.T) {
	requireContainerd(t)
	n := startNode(t, nodeConfig{ns: "uaaftest"})
	ev := n.events()
	exitcode := n.image("exitcode", []string{"3"})
	output := n.image("output", []string{"hello", "world"})
	idle := n.image("idle", nil, "base64", "sha256", "crc32", "sort") // UAAF_LIBS: all bound
	ev.live(n, exitcode)
	run := func(args ...string) []string {
		return append([]string{"run", "--runtime", e2eRuntime}, args...)
	}
	// startIdle runs idle.hvt detached as id and waits until it is ready.
	startIdle := func(t *testing.T, id string) {
		t.Helper()
		n.mustCtr(run("-d", idle, id)...)
		if s, _ := n.taskStatus(id); s != "RUNNING" {
			t.Fatalf("%s is %q", id, s)
		}
	}
	noSessions := func(t *testing.T) {
		t.Helper()
		if ss := n.sessions(); len(ss) != 0 {
			t.Errorf("daemon sessions left: %+v", ss)
		}
	}
	for _, lib := range preloaded {
		if got := n.refs(lib); got != 0 {
			t.Fatalf("%s refcount before any session: %d", lib, got)
		}
	}

	t.Run("output, exit status and events", func(t *testing.T) {
		out, code, err := n.ctr(run("--rm", exitcode, "c-exit")...)
		if code != 3 {
			t.Fatalf("exit code %d, want 3 (%v)", code, err)
		}
		want := "uaaf guest: starting, mem 8 MiB\nexitcode: exiting with 3\nuaaf guest: exit 3\n"
		if out != want {
			t.Errorf("output %q, want %q", out, want)
		}
		wantTopics := []string{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}
		eventually(t, "the task events", func() bool { return len(ev.taskTopics("c-exit")) >= 4 })
		if got := ev.taskTopics("c-exit"); strings.Join(got, " ") != strings.Join(wantTopics, " ") {
			t.Errorf("task events %v, want %v", got, wantTopics)
		}
		noSessions(t)
	})

	t.Run("args, memory limit and libs annotation", func(t *testing.T) {
		out, code, err := n.ctr(run("--rm", "--memory-limit", strconv.Itoa(67<<20), "--annotation", "uaaf.io/libs=crc32,sha256",
			output, "c-args", "/output.hvt", "other", "args")...)
		if err != nil || code != 0 {
			t.Fatalf("exit %d: %v", code, err)
		}
		if want := "uaaf guest: starting, mem 66 MiB\nother args\nuaaf guest: exit 0\n"; out != want {
			t.Errorf("output %q, want %q", out, want)
		}
		out, code, err = n.ctr(run("--rm", output, "c-args")...)
		if want := "uaaf guest: starting, mem 8 MiB\nhello world\nuaaf guest: exit 0\n"; err != nil || code != 0 || out != want {
			t.Errorf("with the image's args: exit %d, %v, output %q, want %q", code, err, out, want)
		}
		noSessions(t)
	})

	t.Run("a library the node does not hold", func(t *testing.T) {
		// testfns is on the daemon's library path, but neither preloaded
		// nor imported by output.hvt.
		_, code, err := n.ctr(run("--rm", "--annotation", "uaaf.io/libs=sha256,testfns", output, "c-nolib")...)
		if code == 0 || err == nil || !strings.Contains(err.Error(), "library not available on the node: testfns") {
			t.Errorf("run: exit %d, %v", code, err)
		}
		n.ctr("container", "rm", "c-nolib")
		noSessions(t)
	})

	t.Run("ctr task kill", func(t *testing.T) {
		b := n.ctrBackground(run("--rm", idle, "c-kill")...)
		eventually(t, "idle: ready", func() bool { return strings.Contains(b.output(), "idle: ready\n") })
		if s, _ := n.taskStatus("c-kill"); s != "RUNNING" {
			t.Errorf("c-kill is %q", s)
		}
		n.mustCtr("task", "kill", "c-kill") // SIGTERM
		if code := b.wait(t); code != 143 {
			t.Errorf("ctr run after SIGTERM: exit %d (%v), want 143", code, b.err)
		}
		if want := "uaaf guest: starting, mem 8 MiB\nidle: ready\n"; b.output() != want {
			t.Errorf("output %q, want %q", b.output(), want)
		}
		if s, _ := n.taskStatus("c-kill"); s != "" {
			t.Errorf("task still listed: %s", s)
		}
		noSessions(t)
	})

	t.Run("two containers share a preloaded library", func(t *testing.T) {
		for _, id := range []string{"c-a", "c-b"} {
			startIdle(t, id)
		}
		if _, err := os.Stat(n.shimSocket("c-a")); err != nil {
			t.Errorf("c-a's shim socket: %v", err) // what the final check looks for
		}
		for _, lib := range preloaded {
			if got := n.refs(lib); got != 2 {
				t.Errorf("%s refcount with both running: %d, want 2", lib, got)
			}
		}
		sha, err := n.uc.Library(t.Context(), "sha256")
		if err != nil || !sha.Pinned || sha.Loads != 1 || sha.Path != kvmtest.LibraryImage(t, "sha256") {
			t.Errorf("sha256: %+v, %v; want the preloaded, pinned one, loaded once", sha, err)
		}
		metrics := n.mustCtr("task", "metrics", "c-a")
		if !strings.Contains(metrics, "memory.usage") || !strings.Contains(metrics, "pids.current") {
			t.Errorf("metrics:\n%s", metrics)
		}
		n.mustCtr("task", "kill", "-s", "SIGKILL", "c-a")
		eventually(t, "c-a stopped", func() bool { s, _ := n.taskStatus("c-a"); return s == "STOPPED" })
		if got := n.refs("sha256"); got != 1 {
			t.Errorf("sha256 refcount with one running: %d, want 1", got)
		}
		n.mustCtr("task", "kill", "-s", "SIGKILL", "c-b")
		eventually(t, "c-b stopped", func() bool { s, _ := n.taskStatus("c-b"); return s == "STOPPED" })
		for _, id := range []string{"c-a", "c-b"} {
			if got := ev.exitStatus(id); got != 137 {
				t.Errorf("%s exit status %d, want 137", id, got)
			}
			n.mustCtr("task", "rm", id)
			n.mustCtr("container", "rm", id)
		}
		if got := n.refs("sha256"); got != 0 {
			t.Errorf("sha256 refcount after both: %d", got)
		}
		noSessions(t)
	})

	t.Run("shim crash", func(t *testing.T) {
		startIdle(t, "c-crash")
		_, pid := n.taskStatus("c-crash")
		if pid == 0 {
			t.Fatal("no pid")
		}
		if ss := n.sessions(); len(ss) != 1 || ss[0].State != "running" {
			t.Fatalf("daemon sessions: %+v", ss)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil { // the task's pid is its shim's
			t.Fatal(err)
		}
		// containerd notices, runs `containerd-shim-uaaf-v1 delete`, which
		// ends and deletes the session in the daemon.
		eventually(t, "the session deleted", func() bool { return len(n.sessions()) == 0 })
		if got := n.refs("sha256"); got != 0 {
			t.Errorf("sha256 refcount after the crash: %d", got)
		}
		eventually(t, "c-crash no longer running", func() bool { s, _ := n.taskStatus("c-crash"); return s != "RUNNING" })
		eventually(t, "c-crash's exit event", func() bool { return ev.exitStatus("c-crash") == 137 })
		n.ctr("task", "rm", "c-crash") // may already be gone
		n.mustCtr("container", "rm", "c-crash")
		// The same id runs again.
		if out, code, err := n.ctr(run("--rm", exitcode, "c-crash")...); code != 3 || !strings.Contains(out, "exitcode: exiting with 3") {
			t.Errorf("rerun: %d %q %v", code, out, err)
		}
	})

	t.Run("daemon restart", func(t *testing.T) {
		startIdle(t, "c-restart")
		if ss := n.sessions(); len(ss) != 1 {
			t.Fatalf("daemon sessions: %+v", ss)
		}
		n.stopDaemon(syscall.SIGKILL) // its sessions die with it
		n.startDaemon()               // a fresh daemon, without them
		eventually(t, "c-restart stopped", func() bool { s, _ := n.taskStatus("c-restart"); return s == "STOPPED" })
		eventually(t, "c-restart's exit event, status 137", func() bool { return ev.exitStatus("c-restart") == 137 })
		n.mustCtr("task", "rm", "c-restart")
		n.mustCtr("container", "rm", "c-restart")
		if out, code, err := n.ctr(run("--rm", exitcode, "c-after")...); code != 3 || !strings.Contains(out, "exitcode: exiting with 3") {
			t.Errorf("run after the restart: %d %q %v", code, out, err)
		}
		noSessions(t)
	})

	t.Run("no daemon", func(t *testing.T) {
		n.stopDaemon(syscall.SIGTERM)
		_, code, err := n.ctr(run("--rm", exitcode, "c-nodaemon")...)
		if code == 0 || err == nil || !strings.Contains(err.Error(), "no uaaf daemon at "+n.uaafSock+": start one with `uaaf serve`") {
			t.Errorf("run without daemon: exit %d, %v", code, err)
		}
		n.ctr("container", "rm", "c-nodaemon")
		n.startDaemon()
	})

	if out := n.mustCtr("task", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("tasks left: %s", out)
	}
	if out := n.mustCtr("container", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left: %s", out)
	}
	if pids := n.shimPids(); len(pids) != 0 {
		t.Errorf("shims still running: %v", pids)
	}
	if ms := mountsUnder(n.dir); len(ms) != 0 {
		t.Errorf("mounts left: %v", ms)
	}
	for _, id := range []string{"c-exit", "c-args", "c-nolib", "c-kill", "c-a", "c-b", "c-crash", "c-restart", "c-after", "c-nodaemon"} {
		if _, err := os.Stat(n.shimSocket(id)); err == nil {
			t.Errorf("socket of %s's shim left: %s", id, n.shimSocket(id))
		}
	}
	noSessions(t)
}
