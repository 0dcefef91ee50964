package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/fakedaemon"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/tools/oci"
)

// The end-to-end test runs Debian's containerd (1.6) with a private root,
// state directory and socket, the shim built with the `shimfake` tag on its
// PATH, and a fake node daemon (fakedaemon) served by the test on a unix
// socket. It drives everything with `ctr`, as an operator would.
//
// TODO(lead): once `uaaf serve` exists, start it here instead of the fake,
// build the shim without the tag, and run a real .hvt.

const (
	e2eNS      = "uaaftest"
	e2eRuntime = "io.containerd.uaaf.v1"
	e2eImage   = "uaaf.local/e2e:1"
	e2eHvt     = "/e2e.hvt"
)

// requireContainerd skips t where containerd cannot run (no binaries, not
// root), or fails it under UAAF_REQUIRE_KVM=1.
func requireContainerd(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "containerd needs root"
	}
	for _, bin := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(bin); err != nil {
			why = fmt.Sprintf("%s not installed (apt-get install containerd): %v", bin, err)
		}
	}
	if why == "" {
		return
	}
	if kvmtest.Required() {
		t.Fatalf("%s (%s=1)", why, kvmtest.RequireEnv)
	}
	t.Skip(why)
}

// node is one private containerd with the shim and a fake daemon.
type node struct {
	t       *testing.T
	ns      string // ctr's namespace
	dir     string
	sock    string // containerd's
	uaafSck string // the fake daemon's
	shim    string // the shim binary
	mu      sync.Mutex
	fake    *fakedaemon.Fake
	srv     *fakedaemon.Server
}

// nodeConfig varies the node's containerd.
type nodeConfig struct {
	// ns is the namespace ctr works in.
	ns string
	// cri is the CRI plugin's config section, with %[1]s standing for the
	// node's directory; "" disables the plugin.
	cri string
}

func startNode(t *testing.T, nc nodeConfig) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, ns: nc.ns, dir: dir, sock: filepath.Join(dir, "containerd.sock"), uaafSck: filepath.Join(dir, "uaaf.sock")}

	bin := filepath.Join(dir, "bin")
	n.shim = filepath.Join(bin, "containerd-shim-uaaf-v1")
	gocmd, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command(gocmd, "build", "-tags", "shimfake", "-o", n.shim, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build shim: %v\n%s", err, out)
	}

	n.serveDaemon()

	disabled := `  "io.containerd.grpc.v1.cri",` + "\n"
	if nc.cri != "" {
		disabled = ""
	}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [
%s  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), disabled, n.sock, n.sock+".ttrpc")
	if nc.cri != "" {
		cfg += fmt.Sprintf(nc.cri, dir)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("containerd", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "UAAF_SOCKET="+n.uaafSck)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		n.cleanup(cmd, exited)
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "containerd.log")); err == nil {
				t.Logf("containerd.log (tail):\n%s", tail(string(b), 400))
			}
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, err := n.ctr("version"); err == nil {
			return n
		}
		select {
		case err := <-exited:
			t.Fatalf("containerd exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveDaemon starts a fresh fake daemon (sha256 and crc32 preloaded).
func (n *node) serveDaemon() {
	n.t.Helper()
	l, err := net.Listen("unix", n.uaafSck)
	if err != nil {
		n.t.Fatal(err)
	}
	f := fakedaemon.New("sha256", "crc32")
	srv, err := fakedaemon.Serve(l, f)
	if err != nil {
		n.t.Fatal(err)
	}
	n.mu.Lock()
	n.fake, n.srv = f, srv
	n.mu.Unlock()
}

// stopDaemon stops the fake daemon, as `uaaf serve` exiting would.
func (n *node) stopDaemon() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		n.srv.Close()
		n.srv = nil
	}
}

func (n *node) daemon() *fakedaemon.Fake {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.fake
}

// cleanup removes every container, stops containerd, kills shims it left,
// unmounts what is mounted under the node's directory and stops the daemon.
func (n *node) cleanup(cmd *exec.Cmd, exited chan error) {
	t := n.t
	if out, _, err := n.ctr("task", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			n.ctr("task", "kill", "-s", "SIGKILL", id)
			n.ctr("task", "rm", "-f", id)
		}
	}
	if out, _, err := n.ctr("container", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			n.ctr("container", "rm", id)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	for _, pid := range n.shimPids() {
		t.Errorf("shim %d still running after cleanup; killing it", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, m := range mountsUnder(n.dir) {
		t.Errorf("%s still mounted after cleanup; unmounting it", m)
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	n.stopDaemon()
}

// shimPids lists the processes running this node's shim binary.
func (n *node) shimPids() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == n.shim {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mountsUnder lists mount points under dir, deepest first.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var ms []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			ms = append([]string{f[4]}, ms...)
		}
	}
	return ms
}

// ctr runs ctr against the node and returns stdout, the exit code and an
// error for a non-zero exit (with stderr).
func (n *node) ctr(args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"-a", n.sock, "-n", n.ns}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil {
		err = fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), code, err
}

func (n *node) mustCtr(args ...string) string {
	n.t.Helper()
	out, _, err := n.ctr(args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

// taskStatus returns the STATUS column of `ctr task ls` for id ("" if the
// task is not listed) and its PID.
func (n *node) taskStatus(id string) (string, int) {
	n.t.Helper()
	for _, line := range strings.Split(n.mustCtr("task", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return f[2], pid
		}
	}
	return "", 0
}

// eventually polls cond for up to 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventLog collects `ctr events` output.
type eventLog struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  []string
	done chan struct{}
}

func (n *node) events() *eventLog {
	n.t.Helper()
	e := &eventLog{cmd: exec.Command("ctr", "-a", n.sock, "events"), done: make(chan struct{})}
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			e.mu.Lock()
			e.buf = append(e.buf, sc.Text())
			e.mu.Unlock()
		}
	}()
	n.t.Cleanup(e.stop)
	return e
}

func (e *eventLog) stop() {
	if e.cmd.ProcessState == nil {
		_ = e.cmd.Process.Kill()
		<-e.done
		_ = e.cmd.Wait()
	}
}

// fifoDirs returns the directories of the stdio FIFOs named in /tasks/create
// events. ctr removes them when it deletes a task; the test removes those of
// tasks that containerd deleted itself (after a shim crash).
func (e *eventLog) fifoDirs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var dirs []string
	for _, line := range e.buf {
		_, js, ok := strings.Cut(line, " /tasks/create ")
		if !ok {
			continue
		}
		var x struct {
			IO struct{ Stdin, Stdout, Stderr string } `json:"io"`
		}
		if json.Unmarshal([]byte(js), &x) != nil {
			continue
		}
		for _, p := range []string{x.IO.Stdin, x.IO.Stdout, x.IO.Stderr} {
			if p != "" {
				dirs = append(dirs, filepath.Dir(p))
			}
		}
	}
	return dirs
}

// seen reports whether an event with topic has been seen.
func (e *eventLog) seen(topic string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, line := range e.buf {
		if strings.Contains(line, " "+topic+" ") {
			return true
		}
	}
	return false
}

// exitStatus returns the exit_status of the last /tasks/exit event of
// container id, or -1.
func (e *eventLog) exitStatus(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	status := -1
	for _, line := range e.buf {
		_, js, ok := strings.Cut(line, " /tasks/exit ")
		if !ok {
			continue
		}
		var x struct {
			ContainerID string `json:"container_id"`
			ExitStatus  int    `json:"exit_status"`
		}
		if json.Unmarshal([]byte(js), &x) == nil && x.ContainerID == id {
			status = x.ExitStatus
		}
	}
	return status
}

// taskTopics returns the /tasks/ topics seen for container id, in order.
func (e *eventLog) taskTopics(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var topics []string
	for _, line := range e.buf {
		if !strings.Contains(line, `"container_id":"`+id+`"`) {
			continue
		}
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/tasks/") {
				topics = append(topics, f)
			}
		}
	}
	return topics
}

func TestContainerdE2E(t *testing.T) {
	requireContainerd(t)
	n := startNode(t, nodeConfig{ns: e2eNS})
	ev := n.events()
	t.Cleanup(func() {
		for _, d := range ev.fifoDirs() {
			if strings.HasPrefix(d, "/run/containerd/fifo/") {
				os.RemoveAll(d)
			}
		}
	})

	hvt := filepath.Join(n.dir, "e2e.hvt")
	content := []byte("\x7fELF stand-in for a session image: the fake daemon only reads it")
	if err := os.WriteFile(hvt, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	imageLine := fmt.Sprintf("image sha256:%s %d bytes\n", hex.EncodeToString(sum[:6]), len(content))
	tarball := filepath.Join(n.dir, "e2e.tar")
	if _, err := oci.BuildFile(tarball, hvt, oci.Options{
		Name: e2eImage, Path: e2eHvt, Args: []string{"hello", "exit=3"}, Libs: []string{"sha256"},
	}); err != nil {
		t.Fatal(err)
	}
	if out := n.mustCtr("image", "import", tarball); !strings.Contains(out, "unpacking "+e2eImage) {
		t.Fatalf("import: %s", out)
	}
	// Relabel the image until its event shows that the subscription is live.
	probe := 0
	eventually(t, "an /images/update event", func() bool {
		probe++
		n.mustCtr("image", "label", e2eImage, fmt.Sprintf("uaaf.test/probe=%d", probe))
		return ev.seen("/images/update")
	})
	run := func(args ...string) []string {
		return append([]string{"run", "--runtime", e2eRuntime}, args...)
	}

	t.Run("output, exit status and events", func(t *testing.T) {
		out, code, err := n.ctr(run("--rm", e2eImage, "c-exit")...)
		if code != 3 {
			t.Fatalf("exit code %d, want 3 (%v)", code, err)
		}
		want := imageLine + "args: hello exit=3\nmem: 0 MiB\nlibs: sha256=1\n"
		if out != want {
			t.Errorf("output %q, want %q", out, want)
		}
		wantTopics := []string{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}
		eventually(t, "the task events", func() bool { return len(ev.taskTopics("c-exit")) >= 4 })
		if got := ev.taskTopics("c-exit"); strings.Join(got, " ") != strings.Join(wantTopics, " ") {
			t.Errorf("task events %v, want %v", got, wantTopics)
		}
		if got := n.daemon().Sessions(); len(got) != 0 {
			t.Errorf("daemon sessions after --rm: %v", got)
		}
	})

	t.Run("args, memory limit and libs annotation", func(t *testing.T) {
		out, code, err := n.ctr(run("--rm", "--memory-limit", strconv.Itoa(67<<20), "--annotation", "uaaf.io/libs=crc32,sha256",
			e2eImage, "c-args", e2eHvt, "other", "args")...)
		if err != nil || code != 0 {
			t.Fatalf("exit %d: %v", code, err)
		}
		want := imageLine + "args: other args\nmem: 66 MiB\nlibs: crc32=1 sha256=1\n"
		if out != want {
			t.Errorf("output %q, want %q", out, want)
		}
	})

	t.Run("ctr task kill", func(t *testing.T) {
		cmd := exec.Command("ctr", append([]string{"-a", n.sock, "-n", n.ns}, run("--rm", e2eImage, "c-kill", e2eHvt, "run")...)...)
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "c-kill running", func() bool { s, _ := n.taskStatus("c-kill"); return s == "RUNNING" })
		n.mustCtr("task", "kill", "c-kill") // SIGTERM
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 143 {
			t.Errorf("ctr run after SIGTERM: %v, want exit 143", err)
		}
		if !strings.Contains(out.String(), "args: run\n") {
			t.Errorf("output %q", out.String())
		}
		if s, _ := n.taskStatus("c-kill"); s != "" {
			t.Errorf("task still listed: %s", s)
		}
	})

	t.Run("two containers share a preloaded library", func(t *testing.T) {
		for _, id := range []string{"c-a", "c-b"} {
			n.mustCtr(run("-d", e2eImage, id, e2eHvt, "run")...)
		}
		for _, id := range []string{"c-a", "c-b"} {
			if s, _ := n.taskStatus(id); s != "RUNNING" {
				t.Fatalf("%s is %q", id, s)
			}
		}
		if got := n.daemon().Refs("sha256"); got != 2 {
			t.Errorf("sha256 refcount with both running: %d, want 2", got)
		}
		metrics := n.mustCtr("task", "metrics", "c-a")
		if !strings.Contains(metrics, "memory.usage") || !strings.Contains(metrics, "pids.current") {
			t.Errorf("metrics:\n%s", metrics)
		}
		n.mustCtr("task", "kill", "-s", "SIGKILL", "c-a")
		eventually(t, "c-a stopped", func() bool { s, _ := n.taskStatus("c-a"); return s == "STOPPED" })
		if got := n.daemon().Refs("sha256"); got != 1 {
			t.Errorf("sha256 refcount with one running: %d, want 1", got)
		}
		n.mustCtr("task", "kill", "-s", "SIGKILL", "c-b")
		eventually(t, "c-b stopped", func() bool { s, _ := n.taskStatus("c-b"); return s == "STOPPED" })
		for _, id := range []string{"c-a", "c-b"} {
			n.mustCtr("task", "rm", id)
			n.mustCtr("container", "rm", id)
		}
		if got := n.daemon().Refs("sha256"); got != 0 {
			t.Errorf("sha256 refcount after both: %d", got)
		}
		if got := n.daemon().Sessions(); len(got) != 0 {
			t.Errorf("daemon sessions left: %v", got)
		}
	})

	t.Run("shim crash", func(t *testing.T) {
		n.mustCtr(run("-d", e2eImage, "c-crash", e2eHvt, "run")...)
		status, pid := n.taskStatus("c-crash")
		if status != "RUNNING" || pid == 0 {
			t.Fatalf("c-crash: %q pid %d", status, pid)
		}
		if got := n.daemon().Refs("sha256"); got != 1 {
			t.Errorf("refcount %d", got)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil { // the task's pid is its shim's
			t.Fatal(err)
		}
		// containerd notices, runs `containerd-shim-uaaf-v1 delete`, which
		// ends the session in the daemon.
		eventually(t, "the session ended", func() bool { return len(n.daemon().Sessions()) == 0 })
		if got := n.daemon().Refs("sha256"); got != 0 {
			t.Errorf("refcount after the crash: %d", got)
		}
		eventually(t, "c-crash no longer running", func() bool { s, _ := n.taskStatus("c-crash"); return s != "RUNNING" })
		eventually(t, "c-crash's exit event", func() bool { return ev.exitStatus("c-crash") == 137 })
		n.ctr("task", "rm", "c-crash") // may already be gone
		n.mustCtr("container", "rm", "c-crash")
		// The same id runs again.
		if out, code, err := n.ctr(run("--rm", e2eImage, "c-crash", e2eHvt, "again")...); code != 0 || !strings.Contains(out, "args: again") {
			t.Errorf("rerun: %d %q %v", code, out, err)
		}
	})

	t.Run("daemon restart", func(t *testing.T) {
		n.mustCtr(run("-d", e2eImage, "c-restart", e2eHvt, "run")...)
		n.stopDaemon()
		n.serveDaemon() // a fresh daemon: the session is gone
		eventually(t, "c-restart stopped", func() bool { s, _ := n.taskStatus("c-restart"); return s == "STOPPED" })
		eventually(t, "c-restart's exit event, status 137", func() bool { return ev.exitStatus("c-restart") == 137 })
		n.mustCtr("task", "rm", "c-restart")
		n.mustCtr("container", "rm", "c-restart")
		if out, code, err := n.ctr(run("--rm", e2eImage, "c-after")...); code != 3 || !strings.Contains(out, "args: hello") {
			t.Errorf("run after restart: %d %q %v", code, out, err)
		}
	})

	t.Run("no daemon", func(t *testing.T) {
		n.stopDaemon()
		_, code, err := n.ctr(run("--rm", e2eImage, "c-nodaemon")...)
		if code == 0 || err == nil || !strings.Contains(err.Error(), "no uaaf daemon at "+n.uaafSck+": start one with `uaaf serve`") {
			t.Errorf("run without daemon: exit %d, %v", code, err)
		}
		n.ctr("container", "rm", "c-nodaemon")
		n.serveDaemon()
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
}
