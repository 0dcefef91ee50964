package task

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2/stats"
	eventsapi "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/events"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime"
	"github.com/containerd/fifo"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/fakedaemon"
)

// recorder is a Publisher that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	topics []string
	msgs   []events.Event
	closed bool
}

func (r *recorder) Publish(_ context.Context, topic string, e events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.topics = append(r.topics, topic)
	r.msgs = append(r.msgs, e)
	return nil
}

func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// waitTopics waits until the recorder has n events and returns their topics.
func (r *recorder) waitTopics(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.topics...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// harness is one Service on a Fake (or another Daemon) with a bundle and
// stdio FIFOs whose containerd-side ends the test reads.
type harness struct {
	t        *testing.T
	svc      *Service
	pub      *recorder
	shutdown chan struct{}
	bundle   string
	stdout   string
	stderr   string
	outDone  chan string // stdout's whole content, once closed
	errDone  chan string
}

const testImage = "/session.hvt"

func newHarness(t *testing.T, d daemon.Daemon, spec *specs.Spec) *harness {
	t.Helper()
	h := &harness{t: t, pub: &recorder{}, shutdown: make(chan struct{}), bundle: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(h.bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.bundle, "rootfs", testImage), []byte("not really an ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h.stdout, h.outDone = readFifo(t, filepath.Join(dir, "stdout"))
	h.stderr, h.errDone = readFifo(t, filepath.Join(dir, "stderr"))
	ctx := namespaces.WithNamespace(context.Background(), "unit")
	var once sync.Once
	h.svc = New(ctx, Config{
		Daemon:       d,
		Publisher:    h.pub,
		Shutdown:     func() { once.Do(func() { close(h.shutdown) }) },
		ReconnectFor: 300 * time.Millisecond,
		DrainTimeout: time.Second,
	})
	return h
}

// readFifo creates a FIFO, opens its reading end as containerd's client does
// and collects everything written to it.
func readFifo(t *testing.T, path string) (string, chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := fifo.OpenFifo(ctx, path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		defer r.Close()
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	return path, done
}

func sessionSpec(args ...string) *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: append([]string{testImage}, args...), Cwd: "/"},
		Root:    &specs.Root{Path: "rootfs"},
	}
}

const id = "c1"

func (h *harness) create() {
	h.t.Helper()
	_, err := h.svc.Create(context.Background(), &taskAPI.CreateTaskRequest{
		ID: id, Bundle: h.bundle, Stdout: h.stdout, Stderr: h.stderr,
	})
	if err != nil {
		h.t.Fatalf("Create: %v", err)
	}
}

func (h *harness) start() {
	h.t.Helper()
	if _, err := h.svc.Start(context.Background(), &taskAPI.StartRequest{ID: id}); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
}

func (h *harness) wait() uint32 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := h.svc.Wait(ctx, &taskAPI.WaitRequest{ID: id})
	if err != nil {
		h.t.Fatalf("Wait: %v", err)
	}
	return r.ExitStatus
}

func (h *harness) kill(sig syscall.Signal) error {
	_, err := h.svc.Kill(context.Background(), &taskAPI.KillRequest{ID: id, Signal: uint32(sig)})
	return err
}

func (h *harness) del() *taskAPI.DeleteResponse {
	h.t.Helper()
	r, err := h.svc.Delete(context.Background(), &taskAPI.DeleteRequest{ID: id})
	if err != nil {
		h.t.Fatalf("Delete: %v", err)
	}
	return r
}

func (h *harness) state() *taskAPI.StateResponse {
	h.t.Helper()
	r, err := h.svc.State(context.Background(), &taskAPI.StateRequest{ID: id})
	if err != nil {
		h.t.Fatalf("State: %v", err)
	}
	return r
}

func output(t *testing.T, c chan string) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("FIFO never closed")
		return ""
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "|") == strings.Join(b, "|")
}

var lifecycle = []string{
	runtime.TaskCreateEventTopic, runtime.TaskStartEventTopic,
	runtime.TaskExitEventTopic, runtime.TaskDeleteEventTopic,
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		kill   syscall.Signal // 0: let it exit
		status uint32
		out    string
	}{
		{"exit 0", []string{"hello", "world"}, 0, 0, "args: hello world\n"},
		{"exit 3", []string{"exit=3"}, 0, 3, "args: exit=3\n"},
		{"SIGTERM", []string{"run"}, syscall.SIGTERM, 143, "args: run\n"},
		{"SIGKILL", []string{"run"}, syscall.SIGKILL, 137, "args: run\n"},
		{"SIGINT", []string{"run"}, syscall.SIGINT, 130, "args: run\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakedaemon.New()
			h := newHarness(t, fake, sessionSpec(tc.args...))
			h.create()
			if st := h.state(); st.Status != tasktypes.Status_CREATED || st.Pid != uint32(os.Getpid()) {
				t.Fatalf("after Create: status %v pid %d", st.Status, st.Pid)
			}
			h.start()
			if tc.kill != 0 {
				if st := h.state(); st.Status != tasktypes.Status_RUNNING {
					t.Fatalf("after Start: status %v", st.Status)
				}
				if err := h.kill(0); err != nil {
					t.Fatalf("signal 0 to a running task: %v", err)
				}
				if err := h.kill(tc.kill); err != nil {
					t.Fatalf("Kill: %v", err)
				}
			}
			if got := h.wait(); got != tc.status {
				t.Errorf("Wait: exit status %d, want %d", got, tc.status)
			}
			if out := output(t, h.outDone); !strings.Contains(out, tc.out) || !strings.HasPrefix(out, "image sha256:") {
				t.Errorf("stdout %q, want it to contain %q", out, tc.out)
			}
			if st := h.state(); st.Status != tasktypes.Status_STOPPED || st.ExitStatus != tc.status || st.ExitedAt == nil {
				t.Errorf("after exit: %v", st)
			}
			if err := h.kill(syscall.SIGTERM); status.Code(err) != codes.NotFound {
				t.Errorf("Kill after exit: %v, want NotFound", err)
			}
			if r := h.del(); r.ExitStatus != tc.status {
				t.Errorf("Delete: exit status %d, want %d", r.ExitStatus, tc.status)
			}
			if got := fake.Sessions(); len(got) != 0 {
				t.Errorf("sessions left in the daemon: %v", got)
			}
			if _, err := os.Stat(filepath.Join(h.bundle, SessionFile)); !os.IsNotExist(err) {
				t.Errorf("session file after Delete: %v", err)
			}
			if _, err := h.svc.Shutdown(context.Background(), &taskAPI.ShutdownRequest{}); err != nil {
				t.Fatal(err)
			}
			<-h.shutdown
			if got := h.pub.waitTopics(t, 4); !equal(got, lifecycle) {
				t.Errorf("events %v, want %v", got, lifecycle)
			}
			h.pub.mu.Lock()
			defer h.pub.mu.Unlock()
			if !h.pub.closed {
				t.Error("publisher not closed at shutdown")
			}
			exit := h.pub.msgs[2].(*eventsapi.TaskExit)
			if exit.ContainerID != id || exit.ExitStatus != tc.status || exit.Pid != uint32(os.Getpid()) {
				t.Errorf("TaskExit %v", exit)
			}
		})
	}
}

func TestKillBeforeStart(t *testing.T) {
	fake := fakedaemon.New()
	h := newHarness(t, fake, sessionSpec("run"))
	h.create()
	if err := h.kill(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := h.wait(); got != 143 {
		t.Errorf("exit status %d, want 143", got)
	}
	if _, err := h.svc.Start(context.Background(), &taskAPI.StartRequest{ID: id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Start after Kill: %v, want FailedPrecondition", err)
	}
	h.del()
	want := []string{runtime.TaskCreateEventTopic, runtime.TaskExitEventTopic, runtime.TaskDeleteEventTopic}
	if got := h.pub.waitTopics(t, 3); !equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestDeleteUnstarted(t *testing.T) {
	fake := fakedaemon.New("sha256")
	spec := sessionSpec()
	spec.Annotations = map[string]string{AnnotationLibs: "sha256"}
	h := newHarness(t, fake, spec)
	h.create()
	if got := fake.Refs("sha256"); got != 1 {
		t.Fatalf("refs after Create: %d", got)
	}
	if r := h.del(); r.ExitStatus != 137 {
		t.Errorf("Delete of a created task: status %d, want 137", r.ExitStatus)
	}
	if got := fake.Refs("sha256"); got != 0 {
		t.Errorf("refs after Delete: %d", got)
	}
	if got := fake.Sessions(); len(got) != 0 {
		t.Errorf("sessions left: %v", got)
	}
}

func TestDeleteRunningRefused(t *testing.T) {
	h := newHarness(t, fakedaemon.New(), sessionSpec("run"))
	h.create()
	h.start()
	_, err := h.svc.Delete(context.Background(), &taskAPI.DeleteRequest{ID: id})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("Delete of a running task: %v, want FailedPrecondition", err)
	}
	// Shutdown with a task left does nothing.
	if _, err := h.svc.Shutdown(context.Background(), &taskAPI.ShutdownRequest{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.shutdown:
		t.Fatal("shut down while serving a task")
	default:
	}
	if err := h.kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.wait()
	h.del()
}

func TestRefused(t *testing.T) {
	h := newHarness(t, fakedaemon.New(), sessionSpec())
	ctx := context.Background()
	calls := map[string]func() error{
		"Exec": func() error {
			_, err := h.svc.Exec(ctx, &taskAPI.ExecProcessRequest{ID: id, ExecID: "e"})
			return err
		},
		"Pause":      func() error { _, err := h.svc.Pause(ctx, &taskAPI.PauseRequest{ID: id}); return err },
		"Resume":     func() error { _, err := h.svc.Resume(ctx, &taskAPI.ResumeRequest{ID: id}); return err },
		"Checkpoint": func() error { _, err := h.svc.Checkpoint(ctx, &taskAPI.CheckpointTaskRequest{ID: id}); return err },
		"Update":     func() error { _, err := h.svc.Update(ctx, &taskAPI.UpdateTaskRequest{ID: id}); return err },
		"ResizePty":  func() error { _, err := h.svc.ResizePty(ctx, &taskAPI.ResizePtyRequest{ID: id}); return err },
		"terminal": func() error {
			_, err := h.svc.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: h.bundle, Terminal: true})
			return err
		},
		"checkpoint restore": func() error {
			_, err := h.svc.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: h.bundle, Checkpoint: "/x"})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "not supported by uaaf") {
				t.Errorf("%s: %v, want Unimplemented and 'not supported by uaaf'", name, err)
			}
		})
	}
}

func TestUnknownTask(t *testing.T) {
	h := newHarness(t, fakedaemon.New(), sessionSpec())
	ctx := context.Background()
	if _, err := h.svc.State(ctx, &taskAPI.StateRequest{ID: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("State: %v", err)
	}
	if _, err := h.svc.Kill(ctx, &taskAPI.KillRequest{ID: "nope", Signal: 9}); status.Code(err) != codes.NotFound {
		t.Errorf("Kill: %v", err)
	}
	h.create()
	if _, err := h.svc.State(ctx, &taskAPI.StateRequest{ID: id, ExecID: "e1"}); status.Code(err) != codes.NotFound {
		t.Errorf("State of an exec: %v", err)
	}
	if _, err := h.svc.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: h.bundle}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("second Create: %v", err)
	}
	h.del()
}

func TestMissingDaemon(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "absent.sock")
	h := newHarness(t, fakedaemon.Dial(socket), sessionSpec())
	_, err := h.svc.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: id, Bundle: h.bundle, Stdout: h.stdout})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("Create without daemon: %v, want Unavailable", err)
	}
	want := "no uaaf daemon at " + socket + ": start one with `uaaf serve`"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if got := h.pub.waitTopics(t, 0); len(got) != 0 {
		t.Errorf("events after a failed Create: %v", got)
	}
}

func TestBadBundle(t *testing.T) {
	tests := []struct {
		name string
		spec *specs.Spec
	}{
		{"no process", &specs.Spec{Version: specs.Version}},
		{"image missing", sessionSpec()},
		{"bad library name", func() *specs.Spec {
			s := sessionSpec()
			s.Annotations = map[string]string{AnnotationLibs: "../../etc/x"}
			return s
		}()},
		{"unknown library", func() *specs.Spec {
			s := sessionSpec()
			s.Annotations = map[string]string{AnnotationLibs: "nosuchlib"}
			return s
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakedaemon.New()
			h := newHarness(t, fake, tc.spec)
			if tc.name == "image missing" {
				os.Remove(filepath.Join(h.bundle, "rootfs", testImage))
			}
			_, err := h.svc.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: id, Bundle: h.bundle})
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if got := fake.Sessions(); len(got) != 0 {
				t.Errorf("sessions left after a failed Create: %v", got)
			}
		})
	}
}

func TestStatsAndPids(t *testing.T) {
	fake := fakedaemon.New()
	spec := sessionSpec("run")
	limit := int64(65<<20 + 12345)
	spec.Linux = &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}}
	h := newHarness(t, fake, spec)
	h.create()
	h.start()
	ctx := context.Background()
	r, err := h.svc.Stats(ctx, &taskAPI.StatsRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	v, err := typeurl.UnmarshalAny(r.Stats)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(*stats.Metrics)
	if !ok {
		t.Fatalf("stats are %T", v)
	}
	if m.Memory.UsageLimit != 64<<20 || m.Memory.Usage != 64<<20 {
		t.Errorf("memory %v, want limit and usage 64 MiB", m.Memory)
	}
	p, err := h.svc.Pids(ctx, &taskAPI.PidsRequest{ID: id})
	if err != nil || len(p.Processes) != 1 || p.Processes[0].Pid != uint32(os.Getpid()) {
		t.Errorf("Pids: %v %v", p, err)
	}
	c, err := h.svc.Connect(ctx, &taskAPI.ConnectRequest{ID: id})
	if err != nil || c.ShimPid != uint32(os.Getpid()) || c.TaskPid != c.ShimPid {
		t.Errorf("Connect: %v %v", c, err)
	}
	if _, err := h.svc.CloseIO(ctx, &taskAPI.CloseIORequest{ID: id, Stdin: true}); err != nil {
		t.Errorf("CloseIO: %v", err)
	}
	if err := h.kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.wait()
	h.del()
}

func TestSandboxPlaceholder(t *testing.T) {
	fake := fakedaemon.New()
	spec := &specs.Spec{
		Version:     specs.Version,
		Process:     &specs.Process{Args: []string{"/pause"}},
		Annotations: map[string]string{annotationContainerType: containerTypeSandbox},
	}
	h := newHarness(t, fake, spec)
	h.create()
	h.start()
	if got := fake.Sessions(); len(got) != 0 {
		t.Fatalf("a sandbox created sessions: %v", got)
	}
	if st := h.state(); st.Status != tasktypes.Status_RUNNING {
		t.Fatalf("sandbox status %v", st.Status)
	}
	if err := h.kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if got := h.wait(); got != 137 {
		t.Errorf("sandbox exit %d, want 137", got)
	}
	h.del()
	if got := h.pub.waitTopics(t, 4); !equal(got, lifecycle) {
		t.Errorf("events %v", got)
	}
}

// TestDaemonBlip: a daemon that is unreachable for less than ReconnectFor
// and comes back with the session loses nothing.
func TestDaemonBlip(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "d.sock")
	fake := fakedaemon.New()
	serve := func() *fakedaemon.Server {
		l, err := net.Listen("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := fakedaemon.Serve(l, fake)
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := serve()
	h := newHarness(t, fakedaemon.Dial(socket), sessionSpec("run"))
	h.svc.cfg.ReconnectFor = time.Minute
	h.create()
	h.start()
	srv.Close()
	time.Sleep(300 * time.Millisecond) // a few failed Wait calls
	srv = serve()
	defer srv.Close()
	if st := h.state(); st.Status != tasktypes.Status_RUNNING {
		t.Fatalf("after the blip: %v", st.Status)
	}
	if err := h.kill(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := h.wait(); got != 143 {
		t.Errorf("exit status %d, want 143", got)
	}
	h.del()
}

// TestDaemonGone: a daemon that exits takes its sessions along; the task ends
// as killed (137) with uaaf's message on stderr, whether the daemon stays
// away or comes back without the session.
func TestDaemonGone(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "stays away"
		if restart {
			name = "restarts"
		}
		t.Run(name, func(t *testing.T) {
			socket := filepath.Join(t.TempDir(), "d.sock")
			l, err := net.Listen("unix", socket)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := fakedaemon.Serve(l, fakedaemon.New())
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, fakedaemon.Dial(socket), sessionSpec("run"))
			h.create()
			h.start()
			srv.Close()
			if restart {
				l, err := net.Listen("unix", socket)
				if err != nil {
					t.Fatal(err)
				}
				srv2, err := fakedaemon.Serve(l, fakedaemon.New())
				if err != nil {
					t.Fatal(err)
				}
				defer srv2.Close()
			}
			if got := h.wait(); got != 137 {
				t.Errorf("exit status %d, want 137", got)
			}
			if msg := output(t, h.errDone); !strings.Contains(msg, "uaaf: session lost") {
				t.Errorf("stderr %q", msg)
			}
			h.del()
			if got := h.pub.waitTopics(t, 4); !equal(got, lifecycle) {
				t.Errorf("events %v", got)
			}
		})
	}
}
