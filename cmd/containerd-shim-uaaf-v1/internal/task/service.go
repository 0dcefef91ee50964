// Package task is the containerd runtime v2 task service of the uaaf shim:
// it serves containerd.task.v2.Task for the containers of one shim process
// by handing each container's session to the node daemon (daemon.Daemon).
//
// Mapping, in short (docs/containerd.md has the operator's view):
//
//   - Create reads the bundle's config.json (see planFromSpec), mounts the
//     rootfs, creates the session in the daemon and opens the task's stdio
//     FIFOs; Start starts it and copies its console to the stdout FIFO;
//     stdin is drained and discarded; the stderr FIFO gets uaaf's own
//     message for the session, if any.
//   - The task's pid is the shim's: the session is not a host process.
//   - Kill with any signal but 0 stops the session; a stopped session exits
//     with 128+signal, as a process killed by that signal does under runc
//     (SIGTERM 143, SIGKILL 137). A session the daemon loses (it restarted)
//     exits with 137.
//   - Exec, Pause, Resume, Checkpoint, Update, ResizePty and terminals are
//     refused with "not supported by uaaf" (ErrNotImplemented); CloseIO is
//     accepted, since stdin is never read.
//   - A Kubernetes pod's sandbox container runs no session: it is a
//     placeholder task that runs until killed.
//
// Events go out in order TaskCreate, TaskStart, TaskExit, TaskDelete through
// one forwarding goroutine.
package task

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2/stats"
	eventsapi "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/events"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/protobuf"
	"github.com/containerd/containerd/runtime"
	"github.com/containerd/log"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
)

// SessionFile is the file in the bundle directory that holds the daemon's
// session id, so that `containerd-shim-uaaf-v1 delete` can clean up after a
// shim that died.
const SessionFile = "uaaf-session"

// KilledStatus is the exit status of a session stopped without a known
// signal: what a process killed by SIGKILL reports.
const KilledStatus = 128 + uint32(syscall.SIGKILL)

// Publisher posts events to containerd (the shim library's publisher).
type Publisher interface {
	Publish(ctx context.Context, topic string, event events.Event) error
}

// Config is what New needs.
type Config struct {
	// Daemon is the node daemon.
	Daemon daemon.Daemon
	// Publisher receives the task events, in order, from one goroutine.
	Publisher Publisher
	// Shutdown ends the shim's serving; Service.Shutdown calls it once no
	// task remains.
	Shutdown func()
	// ReconnectFor is how long a session whose daemon cannot be reached is
	// still waited for before it is reported lost (default 10s).
	ReconnectFor time.Duration
	// DrainTimeout bounds how long the console copy may run on after the
	// session ended before the stdio FIFOs are closed (default 5s).
	DrainTimeout time.Duration
}

// Service implements taskAPI.TaskService. Create it with New. Its methods are
// called concurrently by the ttrpc server; s.mu guards the task table and
// every task's state, and a task's opMu serializes Create, Start, Kill and
// Delete on it (the daemon is called with opMu held, never with mu).
type Service struct {
	cfg Config
	ctx context.Context // carries the namespace; lives as long as the shim
	ns  string
	pid uint32

	mu     sync.Mutex
	tasks  map[string]*task
	closed bool // no more events: Shutdown has started

	events    chan event
	forwarded chan struct{} // closed when the forwarder has drained events
}

type event struct {
	topic string
	msg   events.Event
}

// task is one container. Fields below the line are guarded by Service.mu.
type task struct {
	id, bundle string
	rootfs     string // mounted by the shim, "" if containerd gave no mounts
	sandbox    bool
	spec       daemon.SessionSpec
	sid        string // the daemon's session id
	stdio      *stdio
	opMu       sync.Mutex

	stop     chan struct{} // sandbox placeholder: closed by Kill
	copyDone chan struct{} // closed when the console copy has ended
	exited   chan struct{} // closed when the exit is recorded

	// guarded by Service.mu
	status     tasktypes.Status
	finishing  bool // finish has begun; status turns STOPPED when it ends
	killSignal uint32
	exitStatus uint32
	exitedAt   time.Time
}

// New returns a Service whose events forwarder runs until Shutdown. ctx must
// carry the containerd namespace (namespaces.WithNamespace).
func New(ctx context.Context, cfg Config) *Service {
	if cfg.ReconnectFor == 0 {
		cfg.ReconnectFor = 10 * time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 5 * time.Second
	}
	ns, _ := namespaces.Namespace(ctx)
	s := &Service{
		cfg:       cfg,
		ctx:       ctx,
		ns:        ns,
		pid:       uint32(os.Getpid()),
		tasks:     map[string]*task{},
		events:    make(chan event, 128),
		forwarded: make(chan struct{}),
	}
	go s.forward()
	return s
}

var _ taskAPI.TaskService = (*Service)(nil)

func unsupported(what string) error {
	return errdefs.ToGRPC(fmt.Errorf("%s is not supported by uaaf: %w", what, errdefs.ErrNotImplemented))
}

// forward publishes events in the order they were queued, then closes the
// publisher if it is an io.Closer.
func (s *Service) forward() {
	defer close(s.forwarded)
	ctx := namespaces.WithNamespace(context.WithoutCancel(s.ctx), s.ns)
	for e := range s.events {
		if err := s.cfg.Publisher.Publish(ctx, e.topic, e.msg); err != nil {
			log.G(ctx).WithError(err).WithField("topic", e.topic).Error("uaaf shim: publish event")
		}
	}
	// The shim library waits for its publisher to be closed before it exits.
	if c, ok := s.cfg.Publisher.(io.Closer); ok {
		if err := c.Close(); err != nil {
			log.G(ctx).WithError(err).Warn("uaaf shim: close publisher")
		}
	}
}

// send queues an event. Precondition: s.mu is held.
func (s *Service) send(topic string, msg events.Event) {
	if s.closed {
		log.G(s.ctx).WithField("topic", topic).Warn("uaaf shim: event after shutdown dropped")
		return
	}
	s.events <- event{topic, msg}
}

func (s *Service) get(id, execID string) (*task, error) {
	if execID != "" {
		return nil, fmt.Errorf("exec process %q: %w", execID, errdefs.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return nil, fmt.Errorf("task %q: %w", id, errdefs.ErrNotFound)
	}
	return t, nil
}

// Create mounts the rootfs, creates the session and opens the stdio FIFOs.
func (s *Service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	t, err := s.create(ctx, r)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[t.id] = t
	s.send(runtime.TaskCreateEventTopic, &eventsapi.TaskCreate{
		ContainerID: t.id,
		Bundle:      t.bundle,
		Rootfs:      r.Rootfs,
		IO:          &eventsapi.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Pid:         s.pid,
	})
	return &taskAPI.CreateTaskResponse{Pid: s.pid}, nil
}

func (s *Service) create(ctx context.Context, r *taskAPI.CreateTaskRequest) (_ *task, retErr error) {
	switch {
	case r.Terminal:
		return nil, fmt.Errorf("a terminal is not supported by uaaf (run without -t): %w", errdefs.ErrNotImplemented)
	case r.Checkpoint != "" || r.ParentCheckpoint != "":
		return nil, fmt.Errorf("restoring a checkpoint is not supported by uaaf: %w", errdefs.ErrNotImplemented)
	}
	s.mu.Lock()
	_, exists := s.tasks[r.ID]
	s.mu.Unlock()
	if exists {
		return nil, fmt.Errorf("task %q: %w", r.ID, errdefs.ErrAlreadyExists)
	}
	spec, err := readSpec(r.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	p, err := planFromSpec(spec, s.ns+"/"+r.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	t := &task{
		id:       r.ID,
		bundle:   r.Bundle,
		sandbox:  p.sandbox,
		status:   tasktypes.Status_CREATED,
		stop:     make(chan struct{}),
		copyDone: make(chan struct{}),
		exited:   make(chan struct{}),
	}
	rootfs := filepath.Join(r.Bundle, "rootfs")
	if len(r.Rootfs) > 0 {
		if err := mountRootfs(r.Rootfs, rootfs); err != nil {
			return nil, err
		}
		t.rootfs = rootfs
		defer func() {
			if retErr != nil {
				unmountRootfs(ctx, rootfs)
			}
		}()
	}
	if !t.sandbox {
		t.spec = p.session
		if t.spec.Image, err = resolveImage(rootfs, p.session.Image); err != nil {
			return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
		}
		if t.sid, err = s.cfg.Daemon.CreateSession(ctx, t.spec); err != nil {
			return nil, daemonErr("create session", err)
		}
		defer func() {
			if retErr != nil {
				_ = s.cfg.Daemon.KillSession(context.WithoutCancel(ctx), t.sid)
				_ = s.cfg.Daemon.DeleteSession(context.WithoutCancel(ctx), t.sid)
			}
		}()
		if err := os.WriteFile(filepath.Join(r.Bundle, SessionFile), []byte(t.sid), 0o600); err != nil {
			return nil, fmt.Errorf("record session id: %w", err)
		}
	}
	if t.stdio, err = openStdio(ctx, r.Stdin, r.Stdout, r.Stderr); err != nil {
		return nil, err
	}
	return t, nil
}

// daemonErr adds context and a containerd error kind to a daemon error.
func daemonErr(op string, err error) error {
	switch {
	case errors.Is(err, daemon.ErrNoDaemon):
		return fmt.Errorf("%s: %w: %w", op, err, errdefs.ErrUnavailable)
	case errors.Is(err, daemon.ErrNotFound):
		return fmt.Errorf("%s: %w: %w", op, err, errdefs.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func mountRootfs(pm []*types.Mount, target string) error {
	ms := make([]mount.Mount, 0, len(pm))
	for _, m := range pm {
		ms = append(ms, mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	if err := os.MkdirAll(target, 0o711); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := mount.All(ms, target); err != nil {
		return fmt.Errorf("mount rootfs: %w", err)
	}
	return nil
}

func unmountRootfs(ctx context.Context, target string) {
	if err := mount.UnmountAll(target, syscall.MNT_DETACH); err != nil {
		log.G(ctx).WithError(err).WithField("rootfs", target).Warn("uaaf shim: unmount rootfs")
	}
}

// Start starts the session and its console copy, then watches for its end.
func (s *Service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	s.mu.Lock()
	st := t.status
	s.mu.Unlock()
	if st != tasktypes.Status_CREATED {
		return nil, errdefs.ToGRPC(fmt.Errorf("task %q is %s, not created: %w", t.id, st, errdefs.ErrFailedPrecondition))
	}
	if t.sandbox {
		close(t.copyDone)
	} else {
		// The stream outlives this request: it is bound to the shim's life.
		console, err := s.cfg.Daemon.Console(s.ctx, t.sid, true)
		if err != nil {
			return nil, errdefs.ToGRPC(daemonErr("open console", err))
		}
		if err := s.cfg.Daemon.StartSession(ctx, t.sid); err != nil {
			console.Close()
			return nil, errdefs.ToGRPC(daemonErr("start session", err))
		}
		go t.stdio.copyConsole(console, t.copyDone)
	}
	s.mu.Lock()
	t.status = tasktypes.Status_RUNNING
	s.send(runtime.TaskStartEventTopic, &eventsapi.TaskStart{ContainerID: t.id, Pid: s.pid})
	s.mu.Unlock()
	go s.watch(t)
	return &taskAPI.StartResponse{Pid: s.pid}, nil
}

// watch waits for a started task to end and records its exit.
func (s *Service) watch(t *task) {
	var ex daemon.Exit
	if t.sandbox {
		<-t.stop
		ex = daemon.Exit{Killed: true, At: time.Now()}
	} else {
		ex = s.waitSession(t)
	}
	select {
	case <-t.copyDone:
	case <-time.After(s.cfg.DrainTimeout):
		log.G(s.ctx).WithField("id", t.id).Warn("uaaf shim: console still open after the session ended; closing stdout")
	}
	s.finish(t, ex)
}

// waitSession waits for the session's exit, riding out a daemon that cannot
// be reached for up to ReconnectFor. A session the daemon does not know (any
// more) is reported killed, with a message.
func (s *Service) waitSession(t *task) daemon.Exit {
	var failingSince time.Time
	for {
		called := time.Now()
		ex, err := s.cfg.Daemon.WaitSession(s.ctx, t.sid)
		if err == nil {
			return ex
		}
		// A call that failed at once continues an outage; one that waited
		// a while was connected, so a new outage starts now.
		if failingSince.IsZero() || time.Since(called) > time.Second {
			failingSince = time.Now()
		}
		if errors.Is(err, daemon.ErrNotFound) || time.Since(failingSince) > s.cfg.ReconnectFor {
			log.G(s.ctx).WithError(err).WithField("id", t.id).Error("uaaf shim: session lost")
			_ = s.cfg.Daemon.KillSession(s.ctx, t.sid)
			return daemon.Exit{Killed: true, At: time.Now(), Message: fmt.Sprintf("uaaf: session lost: %v", err)}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finish records t's exit (once): it closes the output FIFOs (which may wait
// for their readers, without s.mu), then marks t stopped and queues TaskExit.
// It must not be called with s.mu held.
func (s *Service) finish(t *task, ex daemon.Exit) {
	s.mu.Lock()
	if t.finishing {
		s.mu.Unlock()
		return
	}
	t.finishing = true
	status := uint32(ex.Status) & 0xff
	if ex.Killed {
		status = KilledStatus
		if t.killSignal != 0 {
			status = 128 + t.killSignal
		}
	}
	s.mu.Unlock()
	if ex.At.IsZero() {
		ex.At = time.Now()
	}
	t.stdio.closeOutput(ex.Message)

	s.mu.Lock()
	defer s.mu.Unlock()
	t.status = tasktypes.Status_STOPPED
	t.exitStatus = status
	t.exitedAt = ex.At
	close(t.exited)
	s.send(runtime.TaskExitEventTopic, &eventsapi.TaskExit{
		ContainerID: t.id,
		ID:          t.id,
		Pid:         s.pid,
		ExitStatus:  status,
		ExitedAt:    protobuf.ToTimestamp(ex.At),
	})
}

// State reports the task's state.
func (s *Service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &taskAPI.StateResponse{
		ID:         t.id,
		Bundle:     t.bundle,
		Pid:        s.pid,
		Status:     t.status,
		Stdin:      t.stdio.stdinPath,
		Stdout:     t.stdio.stdoutPath,
		Stderr:     t.stdio.stderrPath,
		ExitStatus: t.exitStatus,
	}
	if t.status == tasktypes.Status_STOPPED {
		resp.ExitedAt = protobuf.ToTimestamp(t.exitedAt)
	}
	return resp, nil
}

// Wait blocks until the task has exited.
func (s *Service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	select {
	case <-t.exited:
	case <-ctx.Done():
		return nil, errdefs.ToGRPC(ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &taskAPI.WaitResponse{ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)}, nil
}

// Kill stops the session for any signal but 0, which only checks that the
// task runs.
func (s *Service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*emptypb.Empty, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	if err := s.kill(ctx, t, r.Signal); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &emptypb.Empty{}, nil
}

// kill stops t. Precondition: t.opMu is held.
func (s *Service) kill(ctx context.Context, t *task, signal uint32) error {
	s.mu.Lock()
	st := t.status
	if st == tasktypes.Status_STOPPED {
		s.mu.Unlock()
		return fmt.Errorf("task %q: process already finished: %w", t.id, errdefs.ErrNotFound)
	}
	if signal == 0 {
		s.mu.Unlock()
		return nil
	}
	if t.killSignal == 0 {
		t.killSignal = signal
	}
	s.mu.Unlock()
	if t.sandbox {
		select {
		case <-t.stop:
		default:
			close(t.stop)
		}
	} else if err := s.cfg.Daemon.KillSession(ctx, t.sid); err != nil && !errors.Is(err, daemon.ErrNotFound) {
		return daemonErr("kill session", err)
	}
	if st == tasktypes.Status_CREATED {
		// Never started: no watcher will record the exit.
		close(t.copyDone)
		s.finish(t, daemon.Exit{Killed: true, At: time.Now()})
	}
	return nil
}

// Delete forgets an exited (or never started) task: it deletes the session,
// unmounts the rootfs and queues TaskDelete. A running task is refused.
func (s *Service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	s.mu.Lock()
	st := t.status
	s.mu.Unlock()
	switch st {
	case tasktypes.Status_RUNNING:
		return nil, errdefs.ToGRPC(fmt.Errorf("task %q is running: kill it first: %w", t.id, errdefs.ErrFailedPrecondition))
	case tasktypes.Status_CREATED:
		if err := s.kill(ctx, t, uint32(syscall.SIGKILL)); err != nil {
			return nil, errdefs.ToGRPC(err)
		}
	}
	if !t.sandbox {
		err := s.cfg.Daemon.DeleteSession(ctx, t.sid)
		switch {
		case err == nil, errors.Is(err, daemon.ErrNotFound):
		case errors.Is(err, daemon.ErrNoDaemon):
			// The daemon is gone and its sessions with it.
			log.G(ctx).WithError(err).WithField("id", t.id).Warn("uaaf shim: delete session")
		default:
			return nil, errdefs.ToGRPC(daemonErr("delete session", err))
		}
		if err := os.Remove(filepath.Join(t.bundle, SessionFile)); err != nil && !os.IsNotExist(err) {
			log.G(ctx).WithError(err).Warn("uaaf shim: remove session file")
		}
	}
	t.stdio.closeInput()
	if t.rootfs != "" {
		unmountRootfs(ctx, t.rootfs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, t.id)
	s.send(runtime.TaskDeleteEventTopic, &eventsapi.TaskDelete{
		ContainerID: t.id,
		ID:          t.id,
		Pid:         s.pid,
		ExitStatus:  t.exitStatus,
		ExitedAt:    protobuf.ToTimestamp(t.exitedAt),
	})
	return &taskAPI.DeleteResponse{Pid: s.pid, ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)}, nil
}

// Pids lists the task's one pseudo process: the shim.
func (s *Service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	if _, err := s.get(r.ID, ""); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &taskAPI.PidsResponse{Processes: []*tasktypes.ProcessInfo{{Pid: s.pid}}}, nil
}

// Stats reports the session's memory and CPU use as cgroup v2 metrics
// (io.containerd.cgroups.v2.Metrics), which `ctr task metrics` and the CRI
// plugin read. A sandbox placeholder reports zeros.
func (s *Service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	t, err := s.get(r.ID, "")
	if err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	m := &stats.Metrics{Pids: &stats.PidsStat{Current: 1}}
	if !t.sandbox {
		st, err := s.cfg.Daemon.Stats(ctx, t.sid)
		if err != nil {
			return nil, errdefs.ToGRPC(daemonErr("session stats", err))
		}
		m.CPU = &stats.CPUStat{UsageUsec: st.CPUNanos / 1000}
		m.Memory = &stats.MemoryStat{Usage: st.MemBytes, UsageLimit: uint64(t.spec.MemMiB) << 20}
	}
	a, err := typeurl.MarshalAny(m)
	if err != nil {
		return nil, errdefs.ToGRPC(fmt.Errorf("encode metrics: %w", err))
	}
	return &taskAPI.StatsResponse{Stats: protobuf.FromAny(a)}, nil
}

// Connect reports the shim's pid, which is also the task's.
func (s *Service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	return &taskAPI.ConnectResponse{ShimPid: s.pid, TaskPid: s.pid}, nil
}

// Shutdown ends the shim once it serves no task: it flushes the queued
// events, then calls Config.Shutdown.
func (s *Service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	if len(s.tasks) > 0 || s.closed {
		s.mu.Unlock()
		return &emptypb.Empty{}, nil
	}
	s.closed = true
	close(s.events)
	s.mu.Unlock()
	select {
	case <-s.forwarded:
	case <-time.After(5 * time.Second):
		log.G(ctx).Warn("uaaf shim: events still queued at shutdown")
	}
	if s.cfg.Shutdown != nil {
		s.cfg.Shutdown()
	}
	return &emptypb.Empty{}, nil
}

// CloseIO is accepted: the shim never reads stdin, so there is nothing to
// close.
func (s *Service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*emptypb.Empty, error) {
	if _, err := s.get(r.ID, r.ExecID); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	return &emptypb.Empty{}, nil
}

// Exec is refused: a unikernel session has no second process.
func (s *Service) Exec(context.Context, *taskAPI.ExecProcessRequest) (*emptypb.Empty, error) {
	return nil, unsupported("exec")
}

// ResizePty is refused: sessions have no terminal.
func (s *Service) ResizePty(context.Context, *taskAPI.ResizePtyRequest) (*emptypb.Empty, error) {
	return nil, unsupported("a terminal")
}

// Pause is refused.
func (s *Service) Pause(context.Context, *taskAPI.PauseRequest) (*emptypb.Empty, error) {
	return nil, unsupported("pause")
}

// Resume is refused.
func (s *Service) Resume(context.Context, *taskAPI.ResumeRequest) (*emptypb.Empty, error) {
	return nil, unsupported("resume")
}

// Checkpoint is refused.
func (s *Service) Checkpoint(context.Context, *taskAPI.CheckpointTaskRequest) (*emptypb.Empty, error) {
	return nil, unsupported("checkpoint")
}

// Update is refused: a session's memory is fixed when it is created.
func (s *Service) Update(context.Context, *taskAPI.UpdateTaskRequest) (*emptypb.Empty, error) {
	return nil, unsupported("updating resources")
}
