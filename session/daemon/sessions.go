package daemon

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
	"github.com/uaaf/uaaf/session"
	"github.com/uaaf/uaaf/session/api"
)

// sess is one session of the daemon, from creation to deletion. Its VM and
// library references are released as soon as it ends; its record (state,
// timings, S-F row, console) stays until it is deleted.
type sess struct {
	id      uint64
	ref     string // the image as the request named it
	img     *image
	s       *session.Session
	slot    *slot
	console *console
	input   *os.File
	timeout time.Duration

	accepted time.Time // the request arrived
	bound    time.Time // session.New returned: the session's Created
	startReq time.Time // a start request of its own arrived (zero: started with its creation)

	mu       sync.Mutex // guards everything below
	state    string
	status   *int
	errMsg   string
	row      session.Row // final, once ended
	started  time.Time
	ended    time.Time
	t        api.Timings
	cancel   context.CancelCauseFunc
	done     chan struct{} // closed once it ended (or was killed before it started)
	gone     chan struct{} // closed once its VMs are destroyed and its slot freed (after done)
	released bool

	invoked  bool // an invocation's: deleted by it, never retained (set before start)
	retained bool // counted in Daemon.retained (Daemon.mu)
}

// errKilled and errTimeout are the causes a session's context ends with.
var (
	errKilled  = errors.New("killed")
	errTimeout = errors.New("timeout")
)

// CreateSession binds a session of spec: admission (waiting in the queue
// if wait), the image's template, libraries referenced and resolved, a VM
// from the pool. accepted is when the request arrived (timings count from
// it).
func (d *Daemon) CreateSession(ctx context.Context, spec api.SessionSpec, accepted time.Time, wait bool, deadline time.Time) (*sess, error) {
	if d.closing.Load() {
		return nil, ErrDraining
	}
	if err := checkSpec(spec, d.opts.MaxConsole); err != nil {
		return nil, err
	}
	im, prep, releaseTemplate, err := d.resolveImage(spec.Image, spec.MemMiB)
	if err != nil {
		return nil, err
	}
	defer releaseTemplate() // the session has mapped it, or failed, by then
	if spec.Input != nil && !im.input {
		return nil, fmt.Errorf("%w: image %s declares no block device %q to read input from (see guest/UAAF_ABI.md)", ErrInvalid, spec.Image, inputDevice)
	}
	admit := time.Now()
	sl, err := d.adm.acquire(ctx, im.name, deadline, wait)
	if err != nil {
		reason := "busy"
		if errors.Is(err, ErrDraining) {
			reason = "draining"
		}
		if errors.Is(err, ErrBusy) || errors.Is(err, ErrDraining) {
			d.metrics.rejected.WithLabelValues(reason).Inc()
		}
		return nil, err
	}
	queued := time.Since(admit)
	ss := &sess{ref: spec.Image, img: im, slot: sl, accepted: accepted, done: make(chan struct{}),
		gone: make(chan struct{}), state: api.StateCreated}
	ok := false
	defer func() {
		if !ok {
			sl.release()
			if ss.input != nil {
				ss.input.Close()
			}
		}
	}()
	maxConsole := d.opts.MaxConsole
	if spec.Limits.MaxConsoleBytes > 0 {
		maxConsole = spec.Limits.MaxConsoleBytes
	}
	ss.console = newConsole(maxConsole)
	ss.timeout = d.opts.Timeout
	if spec.Limits.TimeoutMs > 0 {
		ss.timeout = time.Duration(spec.Limits.TimeoutMs) * time.Millisecond
	}
	callTimeout := d.opts.CallTimeout
	if spec.Limits.CallTimeoutMs > 0 {
		callTimeout = time.Duration(spec.Limits.CallTimeoutMs) * time.Millisecond
	}
	// With Options.Seccomp, the session runs on a confined runner thread
	// (runners.go): the filter is in place before its first instruction.
	mc := monitor.Config{Args: spec.Args, Console: ss.console, Log: &sessionLog{d: d, s: ss}, KVMPath: d.opts.KVMPath}
	if im.input {
		if ss.input, err = newInput(spec.Input); err != nil {
			return nil, err
		}
		mc.Blocks = []monitor.BlockSpec{{Name: inputDevice, Path: "input", File: ss.input, ReadOnly: true}}
	}
	hit := true
	if mc.Shell = d.pool.Shell(prep.Template); mc.Shell == nil {
		m, h, err := d.pool.Take()
		if err != nil {
			return nil, fmt.Errorf("KVM: %w", err)
		}
		mc.ReadyMachine, hit = m, h
	}
	ss.s, err = session.New(session.Config{
		Image: prep, Monitor: mc, Registry: d.reg, Table: d.table, Switch: d.sel,
		CallTimeout: callTimeout, Libraries: spec.Libraries, OnInstance: func(lib string) {
			d.events.publish(api.Event{Type: "library.instantiated", Library: lib, Session: ss.id})
		},
	})
	if err != nil {
		return nil, sessionErr(err)
	}
	ss.bound = time.Now()
	ss.id = uint64(ss.s.ID())
	ss.t = api.Timings{QueuedNs: int64(queued), BindNs: int64(ss.bound.Sub(accepted) - queued), PoolHit: hit}
	im.started.Add(1)
	d.mu.Lock()
	d.sessions[ss.id] = ss
	d.mu.Unlock()
	ok = true
	// After use: a keep-alive timer dropping the image's shells has either
	// run before it or will find the image in use.
	d.warm.use(im)
	d.pool.want(prep.Template) // shells of it from now on, if none are being made
	ev := api.Event{Type: "session.created", Session: ss.id, Image: spec.Image}
	for _, v := range ss.s.Row().Views {
		ev.Libraries = append(ev.Libraries, api.LibraryUse{Library: v.Library, Warm: v.Warm})
	}
	d.events.publish(ev)
	return ss, nil
}

// sessionErr classifies a session that cannot bind: a missing library or
// function, too many imports, a bad argument — the request's fault.
func sessionErr(err error) error {
	switch {
	case errors.Is(err, session.ErrUnresolved), errors.Is(err, session.ErrTooManyViews), errors.Is(err, monitor.ErrUsage), errors.Is(err, monitor.ErrConfig):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// sessionLog sends a session's monitor notices (an instance discarded …)
// to the daemon's log, one record per line.
type sessionLog struct {
	d *Daemon
	s *sess
}

func (w *sessionLog) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		w.d.log.Warn(string(line), "session", w.s.id)
	}
	return len(p), nil
}

// get returns session id.
func (d *Daemon) get(id uint64) (*sess, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: session %d", ErrNotFound, id)
	}
	return s, nil
}

// StartSession starts a created session.
func (d *Daemon) StartSession(id uint64) (api.Session, error) {
	startReq := time.Now()
	s, err := d.get(id)
	if err != nil {
		return api.Session{}, err
	}
	if err := d.start(s, startReq); err != nil {
		return api.Session{}, err
	}
	return s.view(), nil
}

// start runs s on a goroutine of its own (its vCPU thread). startReq is
// when a start request of its own arrived (zero: it starts with its
// creation).
func (d *Daemon) start(s *sess, startReq time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != api.StateCreated {
		return fmt.Errorf("%w: session %d is %s, not created", ErrConflict, s.id, s.state)
	}
	s.startReq = startReq
	ctx, cancel := context.WithCancelCause(context.Background())
	if s.timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, s.timeout, errTimeout)
		inner := cancel
		cancel = func(cause error) { inner(cause); stop() }
	}
	s.state, s.started, s.cancel = api.StateRunning, time.Now(), cancel
	d.runs.Add(1)
	d.dispatch(ctx, s)
	d.events.publish(api.Event{Type: "session.started", Session: s.id, Image: s.ref})
	return nil
}

// run runs s to its end and releases its VM, on the goroutine dispatch
// chose; confErr, if set, fails s before it runs (its thread could not be
// confined).
func (d *Daemon) run(ctx context.Context, s *sess, confErr error) {
	defer d.runs.Done()
	status, err := 0, confErr
	if confErr == nil {
		status, err = s.s.Run(ctx)
	}
	st := s.s.Monitor().Stats()
	row := s.s.Row()
	ended := time.Now()
	// Its library references go now; its VMs are destroyed after its end
	// is known (the invocation's answer does not wait for that).
	destroy := d.detach(s)
	defer destroy()
	s.cancel(nil)

	var exits uint64 = st.Exits
	for _, v := range row.Views {
		exits += v.Exits
		d.metrics.calls.WithLabelValues(v.Library).Add(float64(v.Calls))
		d.metrics.faults.WithLabelValues(v.Library).Add(float64(v.Faults))
	}
	d.metrics.exits.Add(float64(exits))
	s.mu.Lock()
	s.row, s.ended = row, ended
	s.t.VMExits, s.t.CPUNs = exits, int64(st.CPU)
	if !st.Entered.IsZero() {
		s.setStart(st.Entered)
		s.t.RunNs = int64(st.Run)
	}
	s.t.TotalNs = int64(ended.Sub(s.accepted))
	switch cause := context.Cause(ctx); {
	case err == nil:
		s.state, s.status = api.StateExited, &status
	case errors.Is(err, vcpu.ErrStopped) && errors.Is(cause, errTimeout):
		s.state, s.errMsg = api.StateKilled, fmt.Sprintf("timeout: the session ran longer than %v", s.timeout)
	case errors.Is(err, vcpu.ErrStopped):
		s.state, s.errMsg = api.StateKilled, "killed"
		if cause != nil && !errors.Is(cause, errKilled) {
			s.errMsg = cause.Error()
		}
	default:
		s.state, s.errMsg = api.StateFailed, err.Error()
	}
	state, t := s.state, s.t
	ev := api.Event{Type: "session." + state, Session: s.id, Image: s.ref, Status: s.status, Detail: s.errMsg, Timings: &t}
	s.mu.Unlock()
	s.console.close()
	d.metrics.sessions.WithLabelValues(state).Inc()
	if t.StartNs > 0 {
		d.metrics.observeStart(time.Duration(t.QueuedNs), time.Duration(t.BindNs), time.Duration(t.BootNs), time.Duration(t.StartNs))
	}
	d.events.publish(ev) // before done: whoever waits for the end sees its event first
	d.retain(s)
	close(s.done)
}

// retain counts ended session s among the records kept and forgets the
// oldest beyond Options.MaxRetained.
func (d *Daemon) retain(s *sess) {
	if s.invoked {
		return
	}
	var gone []uint64
	d.mu.Lock()
	if d.sessions[s.id] == s {
		s.retained = true
		d.retained++
		d.retainQ = append(d.retainQ, s.id)
	}
	for d.retained > d.opts.MaxRetained && len(d.retainQ) > 0 {
		id := d.retainQ[0]
		d.retainQ = d.retainQ[1:]
		if old, ok := d.sessions[id]; ok && old.retained {
			d.forgetLocked(old)
			gone = append(gone, id)
		}
	}
	if len(d.retainQ) > 2*d.retained+1024 { // drop the deleted ones' entries
		q := d.retainQ[:0]
		for _, id := range d.retainQ {
			if old, ok := d.sessions[id]; ok && old.retained {
				q = append(q, id)
			}
		}
		d.retainQ = q
	}
	d.mu.Unlock()
	for _, id := range gone {
		d.events.publish(api.Event{Type: "session.expired", Session: id,
			Detail: fmt.Sprintf("more than %d ended sessions kept; the oldest are forgotten", d.opts.MaxRetained)})
	}
}

// forgetLocked removes s from the sessions (d.mu held).
func (d *Daemon) forgetLocked(s *sess) {
	if d.sessions[s.id] != s {
		return
	}
	delete(d.sessions, s.id)
	if s.retained {
		s.retained = false
		d.retained--
	}
}

// release closes s's session (VM, instances, library references) and
// frees its admission slot, once. Call it from the goroutine that ran the
// session, or for a session never started from any.
func (d *Daemon) release(s *sess) { d.detach(s)() }

// detach drops s's library references, takes it out of the S-F table and
// frees its admission slot at once, and returns the rest of release:
// destroying its VMs, closing its input and closing s.gone. Once: later
// calls return a no-op.
func (d *Daemon) detach(s *sess) (destroy func()) {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return func() {}
	}
	s.released = true
	s.mu.Unlock()
	vms := s.s.Detach()
	d.warm.done(s.img)
	// Its slot is free at once, so that whoever hears of its end may start
	// the next session: the VMs being destroyed then are few and brief.
	s.slot.release()
	return func() {
		vms()
		if s.input != nil {
			s.input.Close()
		}
		close(s.gone)
	}
}

// KillSession stops a session: a running one ends killed (KillSession
// returns once it has ended, or after killWait with it still running); a
// created one is released without running. Killing an ended session
// changes nothing.
func (d *Daemon) KillSession(id uint64) (api.Session, error) {
	s, err := d.get(id)
	if err != nil {
		return api.Session{}, err
	}
	d.kill(s, "killed")
	// A running session stops at its next exit or at once (the vCPU is
	// kicked): answer with its end, its VMs gone, unless that takes
	// unusually long.
	select {
	case <-s.gone:
	case <-time.After(killWait):
	}
	return s.view(), nil
}

// killWait bounds how long KillSession waits for a running session to end.
const killWait = 5 * time.Second

func (d *Daemon) kill(s *sess, why string) {
	s.mu.Lock()
	switch s.state {
	case api.StateRunning:
		cause := errKilled
		if why != "killed" {
			cause = errors.New(why)
		}
		s.cancel(cause)
		s.mu.Unlock()
	case api.StateCreated:
		s.state, s.errMsg, s.ended = api.StateKilled, why, time.Now()
		s.mu.Unlock()
		d.release(s)
		s.console.close()
		d.events.publish(api.Event{Type: "session.killed", Session: s.id, Image: s.ref, Detail: why})
		d.retain(s)
		close(s.done)
	default:
		s.mu.Unlock()
	}
}

// WaitSession waits until the session ends, timeout passes or ctx ends,
// and returns its state then.
func (d *Daemon) WaitSession(ctx context.Context, id uint64, timeout time.Duration) (api.Session, error) {
	s, err := d.get(id)
	if err != nil {
		return api.Session{}, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	case <-ctx.Done():
		return api.Session{}, ctx.Err()
	}
	return s.view(), nil
}

// DeleteSession kills the session if it runs, waits for it to end and
// forgets it.
func (d *Daemon) DeleteSession(id uint64) error {
	s, err := d.get(id)
	if err != nil {
		return err
	}
	d.kill(s, "killed")
	<-s.done
	d.mu.Lock()
	d.forgetLocked(s)
	d.mu.Unlock()
	d.events.publish(api.Event{Type: "session.deleted", Session: id})
	return nil
}

// Session describes one session.
func (d *Daemon) Session(id uint64) (api.Session, error) {
	s, err := d.get(id)
	if err != nil {
		return api.Session{}, err
	}
	return s.view(), nil
}

// Sessions lists every session, by ID: the S-F table with each session's
// state.
func (d *Daemon) Sessions() []api.Session {
	d.mu.Lock()
	ss := make([]*sess, 0, len(d.sessions))
	for _, s := range d.sessions {
		ss = append(ss, s)
	}
	d.mu.Unlock()
	out := make([]api.Session, len(ss))
	for i, s := range ss {
		out[i] = s.view()
	}
	slices.SortFunc(out, func(a, b api.Session) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Console returns session id's console from offset on (at most 64 KiB of
// it: call again while a call returns that much), whether it is complete,
// and a channel closed when there is more.
func (d *Daemon) Console(id uint64, off int64) ([]byte, bool, <-chan struct{}, error) {
	s, err := d.get(id)
	if err != nil {
		return nil, false, nil, err
	}
	data, done, more := s.console.from(off)
	return data, done, more, nil
}

// Invoke creates a session, runs it to its end, deletes it and returns
// what it did. If ctx ends first (the client went away) the session is
// killed.
func (d *Daemon) Invoke(ctx context.Context, req api.Invoke, accepted time.Time) (api.InvokeResult, error) {
	if err := checkInvoke(req); err != nil {
		d.metrics.invocations.WithLabelValues("invalid").Inc()
		return api.InvokeResult{}, err
	}
	var deadline time.Time
	if req.DeadlineMs > 0 {
		deadline = accepted.Add(time.Duration(req.DeadlineMs) * time.Millisecond)
	}
	s, err := d.CreateSession(ctx, api.SessionSpec{Image: req.Image, Args: req.Args, MemMiB: req.MemMiB, Input: req.Input, Limits: req.Limits, Libraries: req.Libraries},
		accepted, true, deadline)
	if err != nil {
		outcome := "rejected"
		if !errors.Is(err, ErrBusy) && !errors.Is(err, ErrDraining) {
			outcome = "invalid"
		}
		d.metrics.invocations.WithLabelValues(outcome).Inc()
		return api.InvokeResult{}, err
	}
	s.invoked = true
	if err := d.start(s, time.Time{}); err != nil {
		d.DeleteSession(s.id)
		return api.InvokeResult{}, err
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		d.kill(s, "the client went away")
		<-s.done
	}
	res := api.InvokeResult{Session: s.view(), Output: s.console.String()}
	if !utf8.ValidString(res.Output) {
		res.OutputBase64 = []byte(res.Output)
	}
	d.DeleteSession(s.id)
	outcome := res.State
	if res.State == api.StateExited {
		outcome = "ok"
		if *res.ExitStatus != 0 {
			outcome = "exit_nonzero"
		}
	}
	d.metrics.invocations.WithLabelValues(outcome).Inc()
	return res, nil
}

// setStart records the start phases of s, whose guest was first entered
// at entered. Call with s.mu held.
func (s *sess) setStart(entered time.Time) {
	if s.startReq.IsZero() { // started with its creation: from that request
		s.t.BootNs = int64(entered.Sub(s.bound))
		s.t.StartNs = int64(entered.Sub(s.accepted))
	} else { // from its own start request: the boot alone
		s.t.BootNs = int64(entered.Sub(s.startReq))
		s.t.StartNs = s.t.BootNs
	}
}

// view is the API description of s.
func (s *sess) view() api.Session {
	s.mu.Lock()
	if s.state == api.StateRunning && s.t.StartNs == 0 {
		if entered, ok := s.s.Monitor().EnteredAt(); ok {
			s.setStart(entered)
		}
	}
	v := api.Session{ID: s.id, Image: s.ref, Path: s.img.path, State: s.state, ExitStatus: s.status, Error: s.errMsg,
		Created: s.bound, Started: s.started, Ended: s.ended, Timings: s.t}
	row, live := s.row, s.ended.IsZero()
	s.mu.Unlock()
	if live {
		row = s.s.Row()
	}
	v.Switch = row.Switch
	v.Views = make([]api.View, len(row.Views))
	for i, r := range row.Views {
		v.Views[i] = api.View(r) // same fields: the compiler keeps the two in step
	}
	if v.State == api.StateRunning { // so far: its vCPU thread's CPU time and the exits of it and its views
		m := s.s.Monitor()
		if cpu, ok := m.CPUTime(); ok {
			v.Timings.CPUNs = int64(cpu)
		}
		v.Timings.VMExits = m.Exits()
		for _, r := range row.Views {
			v.Timings.VMExits += r.Exits
		}
	}
	v.Console, v.Truncated = s.console.size()
	return v
}
