// Package daemon is uaaf's resident runtime, the heart of `uaaf serve`: it
// keeps library functions preloaded and session images laid out, keeps a
// warm pool of VMs, admits, starts and runs sessions on demand, and serves
// all of it over an HTTP/JSON API (package api; Handler).
//
// What a session start does on the request path is only what depends on the
// request: take admission, reference the (already loaded) libraries and
// resolve the imports against them, map the image's template copy-on-write
// and write the command line and boot info, take a VM from the pool, set the
// vCPU's registers and enter the guest. Library instances are started on the
// session's first call, from the pool too.
//
// State is in memory only: sessions are VMs inside the daemon process and
// end with it; registered images and loaded libraries must be registered
// again (--config) after a restart.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/session"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/sched"
)

// Sentinel errors of package daemon, mapped to HTTP statuses by Handler.
var (
	// ErrNotFound: no such library, image or session (404).
	ErrNotFound = errors.New("daemon: not found")
	// ErrConflict: the request contradicts the state (409): a name taken,
	// a library in use, a session in the wrong state.
	ErrConflict = errors.New("daemon: conflict")
	// ErrInvalid: the request is malformed or names what cannot be (400).
	ErrInvalid = errors.New("daemon: invalid request")
)

// Options configure a Daemon. The zero value of each field is a sane
// default.
type Options struct {
	// Version is reported by GET /version.
	Version string
	// KVMPath is the KVM device; empty means /dev/kvm.
	KVMPath string
	// Switch is the switch backend request: auto (default), exit, vmfunc.
	Switch string
	// LibPaths are searched for NAME.hvt when a session imports a library
	// that is not loaded.
	LibPaths []string
	// LibMemSize is each library view's guest memory; 0: libvm's default.
	LibMemSize uint64
	// KeepAlive is the keep-alive policy of unreferenced, unpinned
	// libraries (sched.ParseKeepAlive syntax: "ttl=10m", "hybrid",
	// "pinned"); empty means "ttl=10m".
	KeepAlive string
	// ImageKeepAlive is the keep-alive policy of session images' warm
	// state (the guests the pool makes ahead of need for each image, see
	// ShellsPerImage), in the same syntax, applied per image once its last
	// session ends; empty means the libraries' policy (KeepAlive).
	ImageKeepAlive string
	// Queue is the admission order of waiting invocations
	// (sched.ParseQueue: "fifo", "edf", "fair", with ",per-image=N");
	// empty means "fifo".
	Queue string
	// Pool sizes the warm VM pool (sched.ParsePool: "fixed=N",
	// "rate,min=…,max=…"); empty means "fixed=16".
	Pool string
	// ShellsPerImage is how many guests of each image in use the pool
	// keeps made ahead (memory mapped into a ready VM); 0: 4, < 0: none.
	ShellsPerImage int
	// MaxSessions bounds the sessions holding VMs at once; 0: 1024.
	MaxSessions int
	// MaxQueued bounds the invocations waiting for admission; 0: 1024,
	// < 0: no queue (an invocation that finds no free slot gets 429).
	MaxQueued int
	// MaxPerImage bounds the live sessions of one image; 0: no bound.
	MaxPerImage int
	// MemMiB is the default guest memory of sessions; 0: hvt's 512 MiB.
	MemMiB int
	// Timeout is the default wall-time limit of a session; 0: none.
	Timeout time.Duration
	// CallTimeout bounds one library call; 0: switcher's default.
	CallTimeout time.Duration
	// MaxConsole is the console output kept per session; 0: 1 MiB.
	MaxConsole int64
	// Retain is how long the record of an ended session that nobody
	// deleted is kept (state, timings, console); 0: 10 minutes.
	Retain time.Duration
	// MaxRetained bounds those records: past it, the oldest ended
	// session is forgotten at once (event session.expired). Each holds up
	// to MaxConsole bytes of console, so without a bound sessions created
	// and never deleted would hold daemon memory for Retain at any rate a
	// client likes. 0: 1024. (Invocations delete their own.)
	MaxRetained int
	// Clock is the time the keep-alive policy sees; nil: real time (the
	// trace replayer runs policies on a scaled clock).
	Clock sched.Clock
	// Logger receives the daemon's structured log; nil: discard.
	Logger *slog.Logger
	// KernelExits, if set, reads the kernel's count of KVM exits to user
	// space (kvmtrace), for /metrics.
	KernelExits func() (uint64, bool)
	// Seccomp confines every session's vCPU thread — the thread that runs
	// the guest and serves its exits and library calls — to the
	// seccomp.Runner allowlist (Kill or Log); Off (the zero value) leaves
	// them unfiltered. Confined threads run sessions only, one after
	// another, and end after 10 s without one (runners.go).
	Seccomp seccomp.Mode
}

// Daemon is the resident runtime. Create it with New and release it with
// Close; its methods are safe for concurrent use.
type Daemon struct {
	opts Options
	log  *slog.Logger

	sys     *kvm.System
	pool    *pool
	sizer   sched.PoolSizer
	sel     *switcher.Selection
	reg     *libvm.Registry
	keep    sched.KeepAlive
	warm    *warmth // images' warm state under ImageKeepAlive
	table   *session.Table
	adm     *admission
	events  *hub
	metrics *metrics
	clock   sched.Clock

	// residency records when each library was loaded, for memory-time.
	residency sched.Residency

	kernelExits func() (uint64, bool)

	mu       sync.Mutex // guards images, paths, sessions, retainQ, retained
	images   map[string]*image
	paths    map[pathKey]*image // images invoked by path, cached
	sessions map[uint64]*sess
	retainQ  []uint64       // ended sessions kept, oldest first (some deleted since)
	retained int            // ended sessions in sessions that retainQ counts
	runs     sync.WaitGroup // sessions running

	runMu sync.Mutex     // guards idle
	idle  []chan runWork // runners waiting for a session (runners.go)

	closing atomic.Bool
	stop    chan struct{}
	bg      sync.WaitGroup
}

// New opens KVM, selects the switch backend, starts the VM pool and
// returns a daemon with no library loaded and no image registered.
func New(opts Options) (d *Daemon, err error) {
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 1024
	}
	switch {
	case opts.MaxQueued == 0:
		opts.MaxQueued = 1024
	case opts.MaxQueued < 0:
		opts.MaxQueued = 0
	}
	if opts.MemMiB <= 0 {
		opts.MemMiB = hvt.DefaultMemoryMiB
	}
	if opts.MaxConsole <= 0 {
		opts.MaxConsole = 1 << 20
	}
	if opts.ShellsPerImage == 0 {
		opts.ShellsPerImage = 4
	}
	if opts.Retain <= 0 {
		opts.Retain = 10 * time.Minute
	}
	if opts.MaxRetained <= 0 {
		opts.MaxRetained = 1024
	}
	if opts.KVMPath == "" {
		opts.KVMPath = kvm.DefaultPath
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Clock == nil {
		opts.Clock = sched.RealClock{}
	}
	if opts.Seccomp == "" {
		opts.Seccomp = seccomp.Off
	}
	d = &Daemon{opts: opts, log: opts.Logger, clock: opts.Clock, table: session.NewTable(), events: newHub(),
		images: map[string]*image{}, paths: map[pathKey]*image{}, sessions: map[uint64]*sess{},
		kernelExits: opts.KernelExits, stop: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	keep := opts.KeepAlive
	if keep == "" {
		keep = "ttl=10m"
	}
	if d.keep, err = sched.ParseKeepAlive(keep); err != nil {
		return d, fmt.Errorf("%w: keep-alive policy: %w", ErrInvalid, err)
	}
	imageKeep := opts.ImageKeepAlive
	if imageKeep == "" {
		imageKeep = keep
	}
	ik, err := sched.ParseKeepAlive(imageKeep)
	if err != nil {
		return d, fmt.Errorf("%w: image keep-alive policy: %w", ErrInvalid, err)
	}
	d.warm = newWarmth(ik, d.clock, d.events.publish)
	queue := opts.Queue
	if queue == "" {
		queue = "fifo"
	}
	q, err := sched.ParseQueue(queue)
	if err != nil {
		return d, fmt.Errorf("%w: queue policy: %w", ErrInvalid, err)
	}
	d.adm = newAdmission(q, opts.MaxSessions, opts.MaxQueued, opts.MaxPerImage)
	poolSpec := opts.Pool
	if poolSpec == "" {
		poolSpec = "fixed=16"
	}
	if d.sizer, err = sched.ParsePool(poolSpec); err != nil {
		return d, fmt.Errorf("%w: pool policy: %w", ErrInvalid, err)
	}
	if d.sys, err = kvm.Open(opts.KVMPath); err != nil {
		return d, fmt.Errorf("KVM: %w (is KVM enabled, and may this user open %s?)", err, opts.KVMPath)
	}
	cpuid, err := d.sys.SupportedCPUID()
	if err != nil {
		return d, fmt.Errorf("KVM: %w", err)
	}
	d.pool = newPool(d.sys, cpuid, d.sizer.Target(d.clock.Now(), sched.PoolStats{}), opts.ShellsPerImage)
	if d.sel, err = switcher.Select(opts.Switch, ""); err != nil {
		return d, err
	}
	d.reg = libvm.NewRegistry(
		libvm.Config{KVMPath: opts.KVMPath, MemSize: opts.LibMemSize, Console: io.Discard, Machines: d.machine},
		libfuncs.Config[*libvm.Library]{Paths: opts.LibPaths, KeepAlive: keepAlive{d.keep}, Clock: clockAdapter{d.clock}, OnEvent: d.libraryEvent})
	d.metrics = newMetrics(d)
	d.bg.Add(1)
	go d.housekeep()
	d.log.Info("daemon started", "switch", d.sel.Why, "keep_alive", keep, "image_keep_alive", imageKeep, "queue", queue, "pool", poolSpec,
		"max_sessions", opts.MaxSessions, "max_queued", opts.MaxQueued)
	return d, nil
}

// machine hands library instances a VM from the pool.
func (d *Daemon) machine() (*kvm.Machine, error) {
	m, _, err := d.pool.Take()
	return m, err
}

// housekeep asks the pool policy for a target every 100 ms and forgets
// ended sessions older than Options.Retain.
func (d *Daemon) housekeep() {
	defer d.bg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		live, _ := d.adm.counts()
		d.pool.setTarget(d.sizer.Target(d.clock.Now(), sched.PoolStats{
			Arrivals: d.pool.arrivals.Load(), Live: live, Ready: d.pool.Ready(),
			Refill: time.Duration(d.pool.refill.Load())}))
		if n%10 == 0 {
			d.expire(time.Now().Add(-d.opts.Retain))
		}
	}
}

// expire forgets the sessions that ended before t.
func (d *Daemon) expire(t time.Time) {
	d.mu.Lock()
	var gone []uint64
	for id, s := range d.sessions {
		s.mu.Lock()
		old := !s.ended.IsZero() && s.ended.Before(t)
		s.mu.Unlock()
		if old {
			d.forgetLocked(s)
			gone = append(gone, id)
		}
	}
	d.mu.Unlock()
	for _, id := range gone {
		d.events.publish(api.Event{Type: "session.expired", Session: id, Detail: "ended longer than the retention ago; never deleted"})
	}
}

// keepAlive adapts a sched.KeepAlive to the registry's.
type keepAlive struct{ k sched.KeepAlive }

func (k keepAlive) Used(lib string, now time.Time) { k.k.Used(lib, now) }
func (k keepAlive) Idle(lib string, now time.Time) (time.Duration, time.Duration) {
	dec := k.k.Idle(lib, now)
	return dec.Prewarm, dec.KeepAlive
}

// clockAdapter adapts a sched.Clock to the registry's.
type clockAdapter struct{ c sched.Clock }

func (c clockAdapter) Now() time.Time { return c.c.Now() }
func (c clockAdapter) AfterFunc(d time.Duration, f func()) func() bool {
	return c.c.AfterFunc(d, f).Stop
}

// libraryEvent turns registry events into API events and residency.
func (d *Daemon) libraryEvent(ev libfuncs.Event[*libvm.Library]) {
	e := api.Event{Time: time.Now(), Library: ev.Name}
	switch ev.Kind {
	case libfuncs.EventLoaded:
		e.Type = "library.loaded"
		if ev.Prewarm {
			e.Detail = "prewarm"
		}
		e.Bytes = ev.Lib.Resident()
		d.residency.Load(ev.Name, d.clock.Now(), e.Bytes)
	case libfuncs.EventLoadFailed:
		e.Type, e.Detail = "library.load_failed", ev.Err.Error()
	case libfuncs.EventUnloaded:
		e.Type = "library.unloaded"
		d.residency.Unload(ev.Name, d.clock.Now())
	}
	d.events.publish(e)
	d.log.Info(e.Type, "library", ev.Name, "path", ev.Path, "detail", e.Detail)
}

// Selection returns the switch backend the daemon chose, and why.
func (d *Daemon) Selection() string { return d.sel.Why }

// Residency returns the libraries' residency record (for memory-time).
func (d *Daemon) Residency() *sched.Residency { return &d.residency }

// LoadLibrary loads (or pins) a library under name.
func (d *Daemon) LoadLibrary(req api.LoadLibrary) (api.Library, error) {
	if err := checkLoadLibrary(req); err != nil {
		return api.Library{}, err
	}
	if _, err := d.reg.Preload(req.Name, req.Path, req.Pin); err != nil {
		return api.Library{}, libErr(err)
	}
	return d.Library(req.Name)
}

// libErr maps registry and loader errors to the daemon's kinds.
func libErr(err error) error {
	switch {
	case errors.Is(err, libfuncs.ErrExists), errors.Is(err, libfuncs.ErrInUse):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, libfuncs.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, libfuncs.ErrBadName), errors.Is(err, libvm.ErrNotLibrary), errors.Is(err, libvm.ErrPreload):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// Libraries lists the libraries.
func (d *Daemon) Libraries() []api.Library {
	infos := d.reg.List()
	live := d.liveInstances()
	out := make([]api.Library, len(infos))
	for i, in := range infos {
		out[i] = library(in, live)
	}
	return out
}

// Library describes one library.
func (d *Daemon) Library(name string) (api.Library, error) {
	in, ok := d.reg.Lookup(name)
	if !ok {
		return api.Library{}, fmt.Errorf("%w: library %s", ErrNotFound, name)
	}
	return library(in, d.liveInstances()), nil
}

// library describes in, with live[in.Name] instances (liveInstances).
func library(in libfuncs.Info[*libvm.Library], live map[string]int) api.Library {
	l := api.Library{Name: in.Name, Path: in.Path, Refs: in.Refs, Pinned: in.Pinned, Resident: in.Resident,
		LoadNs: int64(in.LoadTime), LoadedAt: in.LoadedAt, LastUsed: in.LastUsed, Loads: in.Loads, Cold: in.Cold, Warm: in.Warm,
		Exports: []string{}}
	if in.Resident && in.Lib != nil {
		l.Exports, l.MemSize, l.Memory = in.Lib.ExportNames(), in.Lib.MemSize(), in.Lib.Resident()
	}
	l.Instances = live[in.Name]
	return l
}

// liveInstances counts the live instances of each library across
// sessions, from one pass over the S-F table.
func (d *Daemon) liveInstances() map[string]int {
	n := map[string]int{}
	for _, row := range d.table.List() {
		for _, v := range row.Views {
			if v.Instance == "live" {
				n[v.Library]++
			}
		}
	}
	return n
}

// PinLibrary sets or clears name's pin.
func (d *Daemon) PinLibrary(name string, pin bool) (api.Library, error) {
	var err error
	if pin {
		err = d.reg.Pin(name)
	} else {
		err = d.reg.Unpin(name)
	}
	if err != nil {
		return api.Library{}, libErr(err)
	}
	if l, err := d.Library(name); err == nil {
		return l, nil
	}
	return api.Library{Name: name, Exports: []string{}}, nil // unpinned and destroyed
}

// UnloadLibrary destroys name; refused while sessions reference it.
func (d *Daemon) UnloadLibrary(name string) error {
	if err := d.reg.Unload(name); err != nil {
		return libErr(err)
	}
	return nil
}

// Close stops every session, destroys every library and image and closes
// KVM. Call Drain first for a graceful stop.
func (d *Daemon) Close() error {
	if d.closing.Swap(true) {
		return nil
	}
	if d.adm != nil {
		d.adm.drain()
	}
	d.mu.Lock()
	ss := make([]*sess, 0, len(d.sessions))
	for _, s := range d.sessions {
		ss = append(ss, s)
	}
	d.mu.Unlock()
	for _, s := range ss {
		d.kill(s, "daemon shutting down")
	}
	d.runs.Wait()
	for _, s := range ss {
		d.release(s)
	}
	close(d.stop)
	d.bg.Wait()
	if d.warm != nil {
		d.warm.close()
	}
	d.mu.Lock()
	for _, im := range d.images {
		im.close()
	}
	for _, im := range d.paths {
		im.close()
	}
	d.mu.Unlock()
	if d.reg != nil {
		d.reg.Close()
	}
	if d.sel != nil {
		d.sel.Close()
	}
	if d.pool != nil {
		d.pool.Close()
	}
	if d.sys != nil {
		d.sys.Close()
	}
	d.events.closeAll()
	return nil
}

// Drain stops admitting sessions and waits until the running ones end or
// ctx is done; then the caller Closes (which stops what is left).
func (d *Daemon) Drain(ctx context.Context) {
	d.adm.drain()
	d.events.publish(api.Event{Type: "daemon.draining"})
	done := make(chan struct{})
	go func() {
		d.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Draining reports whether the daemon takes no new sessions.
func (d *Daemon) Draining() bool { return d.adm.isDraining() }

// Health returns the daemon's health.
func (d *Daemon) Health() api.Health {
	live, queued := d.adm.counts()
	h := api.Health{Status: "ok", Sessions: live, Queued: queued}
	if d.Draining() {
		h.Status = "draining"
	}
	return h
}

// absPath makes a request's path absolute against the daemon's working
// directory (so that a cached image keys on one name).
func absPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: path is required", ErrInvalid)
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalid, p, err)
	}
	return a, nil
}

// looksLikePath tells an image path ("/…", "./…", "x.hvt") from a
// registered image's name.
func looksLikePath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.HasSuffix(s, ".hvt")
}

// statFile returns size and modification time of path, for the path cache.
func statFile(path string) (int64, time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	return fi.Size(), fi.ModTime(), nil
}

// pathReasonOf is err without its *os.PathError wrapping.
func pathReasonOf(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
