// Package libvm is the KVM side of library functions: it boots a
// library-function unikernel once to its ready point in memory backed by a
// memfd (the pristine image), and starts private instances of it for
// sessions — a VM whose RAM is a copy-on-write mapping of the pristine
// image, with the calling session's call area mapped in, run by the same
// monitor loop as every guest (monitor.NewCallee).
//
// Read-only pages (text, rodata, trampoline) stay one host copy however
// many instances map them; writable pages cost an instance only what it
// dirties. Which libraries are loaded, and for how long, is decided by the
// registry in package libfuncs, which holds *Library values and calls
// Runtime.Load and Library.Close.
package libvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/libfuncs"
)

// Sentinel errors of package libvm.
var (
	// ErrNotLibrary: the image exports no functions.
	ErrNotLibrary = errors.New("libvm: not a library-function image")
	// ErrPreload: the library failed while booting to its ready point.
	ErrPreload = errors.New("libvm: preload failed")
	// ErrDestroyed: the library was destroyed; no new instance can start.
	ErrDestroyed = errors.New("libvm: library destroyed")
)

// DefaultMemSize is the guest memory of one library view.
const DefaultMemSize = 4 << 20

// Config configures a Runtime.
type Config struct {
	// KVMPath is the KVM device; empty means /dev/kvm.
	KVMPath string
	// MemSize is each library's guest memory; zero means DefaultMemSize.
	MemSize uint64
	// Console receives library console output; nil means os.Stdout.
	Console io.Writer
	// Machines, if set, gives each new instance its VM and vCPU (CPUID
	// set), e.g. from a warm pool; nil creates them on the runtime's own
	// /dev/kvm.
	Machines func() (*kvm.Machine, error)
	// Context, if set, bounds every preload (with PreloadTimeout): when it
	// is done, a library still booting is stopped and Load fails with its
	// cause (`uaaf run` cancels it on SIGINT and SIGTERM).
	Context context.Context
	// PreloadTimeout bounds one library's boot to its ready point; zero
	// means DefaultPreloadTimeout.
	PreloadTimeout time.Duration
}

// DefaultPreloadTimeout bounds a library's boot to its ready point when
// Config.PreloadTimeout is zero. Ring-0 guest code is emulated on PVM hosts,
// so it is generous.
const DefaultPreloadTimeout = 30 * time.Second

// Runtime loads libraries and starts their instances for one process. It
// opens the KVM device once, at first use, and shares it (and the CPUID
// leaves KVM supports) among every instance. Safe for concurrent use.
type Runtime struct {
	cfg Config

	once  sync.Once
	sys   *kvm.System
	cpuid []kvm.CPUIDEntry2
	err   error
}

// NewRuntime returns a runtime; nothing is opened until it is used.
func NewRuntime(cfg Config) *Runtime {
	if cfg.MemSize == 0 {
		cfg.MemSize = DefaultMemSize
	}
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	if cfg.KVMPath == "" {
		cfg.KVMPath = kvm.DefaultPath
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.PreloadTimeout <= 0 {
		cfg.PreloadTimeout = DefaultPreloadTimeout
	}
	return &Runtime{cfg: cfg}
}

// host opens the KVM device and reads its CPUID leaves, once.
func (rt *Runtime) host() (*kvm.System, []kvm.CPUIDEntry2, error) {
	rt.once.Do(func() {
		if rt.sys, rt.err = kvm.Open(rt.cfg.KVMPath); rt.err != nil {
			return
		}
		rt.cpuid, rt.err = rt.sys.SupportedCPUID()
	})
	return rt.sys, rt.cpuid, rt.err
}

// machine returns a VM with vCPU 0 for an instance.
func (rt *Runtime) machine() (*kvm.Machine, error) {
	if rt.cfg.Machines != nil {
		return rt.cfg.Machines()
	}
	sys, cpuid, err := rt.host()
	if err != nil {
		return nil, err
	}
	return sys.NewMachine(cpuid)
}

// Close closes the KVM device. Instances started from it keep running.
func (rt *Runtime) Close() error {
	if rt.sys != nil {
		return rt.sys.Close()
	}
	return nil
}

// Library is one library-function unikernel booted to its ready point: its
// memory then is the pristine image every instance starts from. Its
// exported fields never change.
type Library struct {
	Name    string
	Path    string
	Exports []uaafabi.Export

	rt      *Runtime
	memSize uint64
	sregs   kvm.Sregs   // special registers at the ready point (GDT, IDT, TR, FS base …)
	ro      []hvt.Range // pages read-only in every instance: text, rodata, trampoline
	preload time.Duration

	mu    sync.Mutex // guards memfd against Close
	memfd int        // the pristine memory; -1 once destroyed
}

// Load boots the library image at path, under name, to its ready point in a
// memfd-backed VM and keeps the memory as the pristine image. It has the
// signature of a libfuncs.Loader.
func (rt *Runtime) Load(name, path string) (*Library, error) {
	start := time.Now()
	img, err := monitor.OpenImage(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPreload, name, err)
	}
	defer img.Close()
	notes, err := uaafabi.NotesOf(img.Image)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !notes.IsLibrary() {
		return nil, fmt.Errorf("%w: %s exports no functions (build it with UAAF_EXPORT)", ErrNotLibrary, path)
	}

	fd, err := unix.MemfdCreate("uaaf-lib-"+name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("libvm: memfd: %w", err)
	}
	l := &Library{Name: name, Path: path, Exports: notes.Exports, rt: rt, memfd: fd, memSize: rt.cfg.MemSize}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.Ftruncate(fd, int64(l.memSize)); err != nil {
		return nil, fmt.Errorf("libvm: memfd size: %w", err)
	}
	ram, err := unix.Mmap(fd, 0, int(l.memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("libvm: map memfd: %w", err)
	}
	defer unix.Munmap(ram)

	ready := false
	m, err := monitor.New(monitor.Config{
		Image: img, MemSize: l.memSize, RAM: ram,
		Console: rt.cfg.Console, Log: rt.cfg.Console, KVMPath: rt.cfg.KVMPath,
		Hooks: monitor.Hooks{
			Prepare: func(m *monitor.Monitor) error {
				if err := notes.Check(m.Image(), m.MemSize()); err != nil {
					return err
				}
				// Preload always runs the exit trampoline: the ready signal
				// must reach the monitor. A vmfunc view gets its own
				// trampoline (MapPrivate).
				return uaafabi.InstallWindow(m.RAM(), uaafabi.BackendExit, 0)
			},
			Switch: func(m *monitor.Monitor, view uint32) (bool, error) {
				if err := l.ready(m, view); err != nil {
					return false, err
				}
				ready = true
				return true, nil
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPreload, name, err)
	}
	ctx, cancel := context.WithTimeoutCause(rt.cfg.Context, rt.cfg.PreloadTimeout,
		fmt.Errorf("it did not report ready within %v", rt.cfg.PreloadTimeout))
	status, err := m.Run(ctx)
	cancel()
	// What the monitor made read-only (text, rodata), plus the trampoline
	// page, stays read-only in every instance.
	l.ro = append(m.ReadOnly(), hvt.Range{Start: uaafabi.TrampGPA, End: uaafabi.TrampGPA + guestmem.PageSize})
	m.Close()
	switch {
	case err != nil && context.Cause(ctx) != nil && rt.cfg.Context.Err() == nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrPreload, name, context.Cause(ctx))
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrPreload, name, err)
	case !ready && status == hvt.ExitAbort:
		return nil, fmt.Errorf("%w: %s aborted before it reported ready (its uaaf_lib_init failed, or it ran out of memory: see its console output)", ErrPreload, name)
	case !ready:
		return nil, fmt.Errorf("%w: %s exited with status %d before it reported ready (a library serves calls from the runtime's loop; does it run solo5_app_main instead?)", ErrPreload, name, status)
	}
	l.preload = time.Since(start)
	ok = true
	return l, nil
}

// ready checks the library's first switch: to view 0, from the
// trampoline's ready entry, with its view data filled in; and records the
// special registers every instance starts with.
func (l *Library) ready(m *monitor.Monitor, view uint32) error {
	if view != 0 {
		return &monitor.GuestError{Msg: fmt.Sprintf("library %s switched to view %d while preloading", l.Name, view)}
	}
	resume, rsp, role := uaafabi.ViewData(m.RAM())
	if role != uaafabi.RoleLibFunc || resume != uaafabi.TrampCalleeEntry || rsp == 0 {
		return &monitor.GuestError{Msg: fmt.Sprintf(
			"library %s reported ready with bad view data (role %d, resume %#x, stack %#x)", l.Name, role, resume, rsp)}
	}
	sregs, err := m.VCPU().K.GetSregs()
	if err != nil {
		return err
	}
	l.sregs = sregs
	return nil
}

// Close destroys the library: its pristine memory is freed once no
// instance maps it any more (instances keep their pages). No new instance
// can start. It implements libfuncs.Library.
func (l *Library) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.memfd < 0 {
		return nil
	}
	err := unix.Close(l.memfd)
	l.memfd = -1
	return err
}

// ExportNames returns the names of the library's exports, in index order.
func (l *Library) ExportNames() []string {
	names := make([]string, len(l.Exports))
	for i, e := range l.Exports {
		names[i] = e.Name
	}
	return names
}

// ExportIndex returns the index of export fn.
func (l *Library) ExportIndex(fn string) (int, bool) {
	i := slices.IndexFunc(l.Exports, func(e uaafabi.Export) bool { return e.Name == fn })
	return i, i >= 0
}

// MemSize returns the library's guest memory size.
func (l *Library) MemSize() uint64 { return l.memSize }

// PreloadTime is how long Load took.
func (l *Library) PreloadTime() time.Duration { return l.preload }

// ReadOnlyRanges returns the page ranges [start, end) that are read-only in
// every instance: text, rodata and the trampoline page.
func (l *Library) ReadOnlyRanges() []hvt.Range { return slices.Clone(l.ro) }

// Resident returns the bytes of pristine memory the host holds (0 once
// destroyed).
func (l *Library) Resident() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st unix.Stat_t
	if l.memfd < 0 || unix.Fstat(l.memfd, &st) != nil {
		return 0
	}
	return uint64(st.Blocks) * 512
}

// MapPrivate returns a private copy-on-write mapping of the pristine image
// with backend b's trampoline in it (the pristine one is the exit
// backend's, which preload needs). For a view inside another VM (not
// BackendExit: the vmfunc backend's views in the session's own VM) it also
// protects the read-only ranges (text, rodata, trampoline) on the host; an
// exit-backend instance gets them as read-only memslots of its own VM
// instead (NewInstance). The caller unmaps it with FreeMapping after the
// memslot is gone.
func (l *Library) MapPrivate(b uaafabi.Backend) ([]byte, error) {
	l.mu.Lock()
	fd := l.memfd
	var ram []byte
	var err error
	if fd >= 0 {
		ram, err = unix.Mmap(fd, 0, int(l.memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	}
	l.mu.Unlock()
	switch {
	case fd < 0:
		return nil, fmt.Errorf("%w: %s", ErrDestroyed, l.Name)
	case err != nil:
		return nil, fmt.Errorf("libvm: map %s privately: %w", l.Name, err)
	}
	if b == uaafabi.BackendExit {
		// An instance of its own VM: monitor.NewCallee maps l.ro as
		// read-only memslots, and the mapping stays whole.
		return ram, nil
	}
	code, err := uaafabi.Trampoline(b)
	if err != nil {
		unix.Munmap(ram)
		return nil, err
	}
	copy(ram[uaafabi.TrampGPA:], code)
	for _, r := range l.ro {
		if err := guestmem.ProtectReadOnly(ram, r.Start, r.End-r.Start); err != nil {
			unix.Munmap(ram)
			return nil, err
		}
	}
	return ram, nil
}

// FreeMapping unmaps memory returned by MapPrivate.
func FreeMapping(b []byte) error { return unix.Munmap(b) }

// Registry is a libfuncs registry of this package's libraries.
type Registry = libfuncs.Registry[*Library]

// Entry is one library registered in a Registry.
type Entry = libfuncs.Entry[*Library]

// NewRegistry returns a registry whose libraries a new Runtime with config
// c loads (rcfg.Load and rcfg.OnClose are set to it: closing the registry
// closes the runtime).
func NewRegistry(c Config, rcfg libfuncs.Config[*Library]) *Registry {
	rt := NewRuntime(c)
	rcfg.Load, rcfg.OnClose = rt.Load, rt.Close
	return libfuncs.New(rcfg)
}
