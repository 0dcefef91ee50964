package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime/v2/shim"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/tools/oci"
)

// The end-to-end tests run a node as an operator would set one up: Debian's
// containerd (1.6) with a private root, state directory and socket; the
// shim, built as released, on containerd's PATH; and a real `uaaf serve`
// (built from this tree) with the shipped libraries preloaded and pinned.
// Everything is driven with `ctr` (and crictl for the CRI test).

// e2eRuntime is the runtime the tests ask containerd for.
const e2eRuntime = "io.containerd.uaaf.v1"

// preloaded are the libraries the node daemon preloads and pins.
var preloaded = []string{"sha256", "crc32", "base64", "sort"}

// requireContainerd skips t where containerd cannot run (no binaries, not
// root) or KVM and the built images are missing, or fails it under
// UAAF_REQUIRE_KVM=1.
func requireContainerd(t *testing.T) {
	t.Helper()
	kvmtest.Require(t)
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

// node is one private containerd with the shim and a `uaaf serve`.
type node struct {
	t    *testing.T
	ns   string // ctr's namespace
	dir  string
	bin  string // the shim, uaaf and uaaf-ctl
	sock string // containerd's
	shim string // the shim binary

	uaafSock string // the daemon's
	uaafCfg  string // its --config
	uaafLog  string // its stdout and stderr, every run of it appended
	uc       *client.Client

	mu    sync.Mutex
	serve *serveProc // nil while no daemon runs
}

// serveProc is one run of `uaaf serve`.
type serveProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
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
	// A short directory: the daemon's socket path must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "uaafe2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"containerd.log", "uaaf-serve.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					t.Logf("%s (tail):\n%s", f, tail(string(b), 200))
				}
			}
		}
		os.RemoveAll(dir)
	})
	n := &node{t: t, ns: nc.ns, dir: dir, bin: filepath.Join(dir, "bin"), sock: filepath.Join(dir, "containerd.sock"),
		uaafSock: filepath.Join(dir, "uaaf.sock"), uaafLog: filepath.Join(dir, "uaaf-serve.log")}
	n.uc = client.New(n.uaafSock)
	t.Cleanup(func() { n.uc.Close() })

	n.shim = filepath.Join(n.bin, "containerd-shim-uaaf-v1")
	gocmd, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command(gocmd, "build", "-trimpath", "-o", n.shim, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build shim: %v\n%s", err, out)
	}
	if _, err := kvmtest.BuildUAAF(n.bin); err != nil {
		t.Fatal(err)
	}
	n.writeDaemonConfig()
	n.startDaemon()
	t.Cleanup(func() { n.stopDaemon(syscall.SIGTERM) }) // after containerd's clean-up below

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
	cmd.Env = append(os.Environ(), "PATH="+n.bin+":"+os.Getenv("PATH"), "UAAF_SOCKET="+n.uaafSock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { n.cleanup(cmd, exited) })
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

// writeDaemonConfig writes the daemon's --config: the shipped libraries,
// preloaded and pinned.
func (n *node) writeDaemonConfig() {
	n.t.Helper()
	var cfg struct {
		Libraries []api.LoadLibrary `json:"libraries"`
	}
	for _, name := range preloaded {
		cfg.Libraries = append(cfg.Libraries, api.LoadLibrary{Name: name, Path: kvmtest.LibraryImage(n.t, name), Pin: true})
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	n.uaafCfg = filepath.Join(n.dir, "uaaf-serve.json")
	if err := os.WriteFile(n.uaafCfg, b, 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// startDaemon starts `uaaf serve` on the node's socket and waits for its
// "ready" line. Sessions get 8 MiB unless their container has a memory
// limit. The daemon runs as deployed: its seccomp filters on (the default
// --seccomp=kill).
func (n *node) startDaemon() {
	n.t.Helper()
	logf, err := os.OpenFile(n.uaafLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	fmt.Fprintf(logf, "=== uaaf serve started by the test at %s\n", time.Now().Format(time.RFC3339Nano))
	libDir := filepath.Dir(kvmtest.LibraryImage(n.t, "sha256"))
	cmd := exec.Command(filepath.Join(n.bin, "uaaf"), "serve", "--socket", n.uaafSock, "--config", n.uaafCfg,
		"--lib-path", libDir, "--pool-size", "2", "--mem", "8", "--drain-timeout", "2s")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		n.t.Fatalf("start uaaf serve: %v", err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		defer logf.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if strings.HasPrefix(sc.Text(), "uaaf serve: ready on unix:"+n.uaafSock) {
				close(ready)
			}
		}
		_ = cmd.Wait()
	}()
	n.mu.Lock()
	n.serve = p
	n.mu.Unlock()
	select {
	case <-ready:
	case <-p.done:
		n.mu.Lock()
		n.serve = nil
		n.mu.Unlock()
		n.t.Fatalf("uaaf serve exited: %v (log: %s)", cmd.ProcessState, n.uaafLog)
	case <-time.After(30 * time.Second):
		n.stopDaemon(syscall.SIGKILL)
		n.t.Fatal("uaaf serve did not say it was ready")
	}
}

// stopDaemon stops the running daemon with sig (SIGTERM: it drains and
// exits; SIGKILL: it dies with its sessions, as in a crash) and waits for
// its end. A daemon that ignores SIGTERM for 10 s is killed and fails t.
func (n *node) stopDaemon(sig syscall.Signal) {
	n.mu.Lock()
	p := n.serve
	n.serve = nil
	n.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		n.t.Errorf("uaaf serve still running 10 s after %v; killing it", sig)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if st := p.cmd.ProcessState; sig == syscall.SIGTERM && (st == nil || !st.Success()) {
		n.t.Errorf("uaaf serve after SIGTERM: %v, want exit status 0", st)
	}
}

// cleanup removes every container, stops containerd, kills shims it left
// and unmounts what is mounted under the node's directory. The daemon is
// stopped after it.
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
}

// sessions returns the daemon's sessions.
func (n *node) sessions() []api.Session {
	n.t.Helper()
	ss, err := n.uc.Sessions(context.Background())
	if err != nil {
		n.t.Fatalf("daemon sessions: %v", err)
	}
	return ss
}

// refs returns the daemon's reference count of library name.
func (n *node) refs(name string) int {
	n.t.Helper()
	l, err := n.uc.Library(context.Background(), name)
	if err != nil {
		n.t.Fatalf("library %s: %v", name, err)
	}
	return l.Refs
}

// image builds an OCI image of guest/build/HVT.hvt, at /HVT.hvt with args,
// and imports it as uaaf.local/HVT:1, which it returns.
func (n *node) image(hvt string, args []string, libs ...string) string {
	n.t.Helper()
	name := "uaaf.local/" + hvt + ":1"
	tarball := filepath.Join(n.dir, hvt+".tar")
	if _, err := oci.BuildFile(tarball, kvmtest.GuestImage(n.t, hvt), oci.Options{
		Name: name, Path: "/" + hvt + ".hvt", Args: args, Libs: libs,
	}); err != nil {
		n.t.Fatal(err)
	}
	if out := n.mustCtr("image", "import", tarball); !strings.Contains(out, "unpacking "+name) {
		n.t.Fatalf("import: %s", out)
	}
	return name
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

// shimSocket is where containerd's shim library puts the socket of
// container id's shim (under /run/containerd/s, outside the node's
// directory).
func (n *node) shimSocket(id string) string {
	n.t.Helper()
	addr, err := shim.SocketAddress(namespaces.WithNamespace(context.Background(), n.ns), n.sock, id)
	if err != nil {
		n.t.Fatal(err)
	}
	return strings.TrimPrefix(addr, "unix://")
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

// background is a ctr command left running, its stdout collected.
type background struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// ctrBackground starts ctr with args and returns at once.
func (n *node) ctrBackground(args ...string) *background {
	n.t.Helper()
	b := &background{cmd: exec.Command("ctr", append([]string{"-a", n.sock, "-n", n.ns}, args...)...), done: make(chan struct{})}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	go func() {
		defer close(b.done)
		buf := make([]byte, 4096)
		for {
			k, err := out.Read(buf)
			b.mu.Lock()
			b.out.Write(buf[:k])
			b.mu.Unlock()
			if err != nil {
				break
			}
		}
		b.err = b.cmd.Wait()
	}()
	n.t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// output returns what the command wrote to stdout so far.
func (b *background) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// wait waits up to 30 s for the command's end and returns its exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%v still running", b.cmd.Args)
	}
	return b.cmd.ProcessState.ExitCode()
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

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
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

// events follows the node's events until the test ends; the FIFO
// directories its /tasks/create events name are removed then (ctr removes
// those of the tasks it deletes, not of those containerd deleted after a
// shim crash).
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
		_, _ = io.Copy(io.Discard, out)
	}()
	n.t.Cleanup(func() {
		e.stop()
		for _, d := range e.fifoDirs() {
			if strings.HasPrefix(d, "/run/containerd/fifo/") {
				os.RemoveAll(d)
			}
		}
	})
	return e
}

func (e *eventLog) stop() {
	if e.cmd.ProcessState == nil {
		_ = e.cmd.Process.Kill()
		<-e.done
		_ = e.cmd.Wait()
	}
}

// fifoDirs returns the directories of the stdio FIFOs named in
// /tasks/create events.
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

// live relabels image until the event subscription shows the update: from
// then on no event is missed.
func (e *eventLog) live(n *node, image string) {
	n.t.Helper()
	probe := 0
	eventually(n.t, "an /images/update event", func() bool {
		probe++
		n.mustCtr("image", "label", image, fmt.Sprintf("uaaf.test/probe=%d", probe))
		return e.seen("/images/update")
	})
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
