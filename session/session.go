package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vmfunc"
	"github.com/uaaf/uaaf/libfuncs"
)

// Config says how to run one session.
type Config struct {
	// Monitor is the session image and its hvt settings (memory, devices,
	// console). Its Extension must be nil: the session installs itself.
	Monitor monitor.Config
	// Registry provides the libraries; required.
	Registry *libfuncs.Registry
	// Table records the session while it exists; nil means none.
	Table *Table
	// Backend is the switch backend (see switcher.Select); empty means exit.
	Backend uaafabi.Backend
	// CallTimeout bounds each call; zero means switcher.DefaultDeadline.
	CallTimeout time.Duration
	// Eager starts every library instance at bind time instead of at its
	// first call.
	Eager bool
}

// Session is one running session unikernel with its library views. New
// binds it; Run runs it once; Close releases everything. Stop and Row are
// safe from any goroutine.
type Session struct {
	cfg   Config
	id    ID
	mon   *monitor.Monitor
	notes *uaafabi.Notes
	sw    switcher.Switcher

	views    []*view   // views[i] is EPTP index i+1
	bindings []binding // bindings[i] resolves import i (written into guest memory)

	mu sync.Mutex // guards the views' instance state and counters for Row

	// Timing of the phases, for Stats.
	bindTime time.Duration
	released bool
}

// binding is where import i goes: struct uaaf_binding.
type binding struct{ view, fn uint32 }

// view is one EPTP-list entry: a library and this session's instance of it.
type view struct {
	index     int
	lib       *libfuncs.LibFunc
	inst      *libfuncs.Instance // nil until started, or after a discard
	mapped    []byte             // vmfunc: the view's memory, a memslot of the session VM
	discarded bool
	calls     uint64
	faults    uint64
	exits     uint64 // exits of discarded instances
}

// New binds a session: reads the image's imports, gives each imported
// library an EPTP index, takes a reference on each library (loading it from
// the registry's search path if needed), resolves every imported function,
// and creates the session's VM with the UaaF window and binding table in its
// memory. Errors name the import at fault. New takes over
// cfg.Monitor.Machine, as monitor.New does, even when it fails.
func New(cfg Config) (s *Session, err error) {
	start := time.Now()
	// A machine already being created for the monitor is New's to dispose
	// of whatever happens; monitor.New takes it over below.
	machine := cfg.Monitor.Machine
	defer func() {
		if machine != nil {
			machine.Discard()
		}
	}()
	if cfg.Registry == nil {
		return nil, errors.New("session: Config.Registry is required")
	}
	if cfg.Backend == "" {
		cfg.Backend = uaafabi.BackendExit
	}
	f, err := hvt.Open(cfg.Monitor.Kernel)
	if err != nil {
		return nil, monitor.CouldNotOpen(cfg.Monitor.Kernel, err)
	}
	fi, err := f.Stat()
	if err == nil {
		s = &Session{cfg: cfg}
		s.notes, err = uaafabi.ReadNotes(f, fi.Size())
	}
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Monitor.Kernel, err)
	}
	if s.notes.IsLibrary() {
		return nil, fmt.Errorf("%w: %s exports functions; load it with --lib NAME=%s and run a session that imports it", ErrNotSession, cfg.Monitor.Kernel, cfg.Monitor.Kernel)
	}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if err := s.bind(); err != nil {
		return s, err
	}
	if s.notes.IsSession() {
		cfg.Monitor.Extension = (*sessionExt)(s)
	}
	machine = nil // monitor.New's from here
	if s.mon, err = monitor.New(cfg.Monitor); err != nil {
		return s, err
	}
	if s.notes.IsSession() {
		swcfg := switcher.Config{
			Views:    (*sessionViews)(s),
			CallArea: s.callArea(),
			Deadline: cfg.CallTimeout,
		}
		if cfg.Backend == uaafabi.BackendVMFUNC {
			if swcfg.VMFUNC, err = s.vmfuncLayout(); err != nil {
				return s, err
			}
		}
		s.sw, err = switcher.New(cfg.Backend, swcfg)
		if err != nil {
			return s, err
		}
		if cfg.Eager && cfg.Backend == uaafabi.BackendExit { // vmfunc views exist from bind on
			for _, v := range s.views {
				if err := s.start(v); err != nil {
					return s, err
				}
			}
		}
	}
	if cfg.Table != nil {
		cfg.Table.add(s)
	}
	s.bindTime = time.Since(start)
	return s, nil
}

// bind assigns views and acquires the libraries.
func (s *Session) bind() error {
	libs := make([]string, len(s.notes.Imports))
	for i, imp := range s.notes.Imports {
		libs[i] = imp.Lib
	}
	index, order, err := planViews(libs)
	if err != nil {
		return err
	}
	for i, name := range order {
		lf, err := s.cfg.Registry.Acquire(name)
		if err != nil {
			return fmt.Errorf("%w: library %s (imported by %s): %w", ErrUnresolved, name, s.cfg.Monitor.Kernel, err)
		}
		s.views = append(s.views, &view{index: i + 1, lib: lf})
	}
	for _, imp := range s.notes.Imports {
		v := s.views[index[imp.Lib]-1]
		fn, ok := v.lib.ExportIndex(imp.Fn)
		if !ok {
			return fmt.Errorf("%w: function %s.%s: library %s (%s) exports %s", ErrUnresolved, imp.Lib, imp.Fn, imp.Lib, v.lib.Path, strings.Join(v.lib.ExportNames(), ", "))
		}
		s.bindings = append(s.bindings, binding{view: uint32(v.index), fn: uint32(fn)})
	}
	return nil
}

// vmfuncLayout prepares the views for the vmfunc backend: every library
// view's memory becomes a private copy-on-write mapping of the pristine
// image, registered as a memslot of the session's own VM at
// switcher.LibraryBase(index), for the kernel module to build its EPT from.
func (s *Session) vmfuncLayout() (*switcher.VMFUNCConfig, error) {
	if err := switcher.ProbeVMFUNC(vmfunc.DefaultPath); err != nil {
		return nil, err
	}
	vc := &switcher.VMFUNCConfig{SessionMem: s.mon.MemSize()}
	for _, v := range s.views {
		mem, err := v.lib.MapPrivate(uaafabi.BackendVMFUNC)
		if err != nil {
			return nil, err
		}
		v.mapped = mem
		if err := s.mon.VM().MapMemory(uint32(v.index), switcher.LibraryBase(v.index), mem, 0); err != nil {
			return nil, fmt.Errorf("session: library %s memslot: %w", v.lib.Name, err)
		}
		vc.Libraries = append(vc.Libraries, switcher.LibraryView{
			Index: v.index, MemSize: v.lib.MemSize(), ReadOnly: v.lib.ReadOnlyRanges(),
		})
	}
	return vc, nil
}

// sessionExt is the monitor.Extension of a session's monitor.
type sessionExt Session

// Prepare installs the UaaF window and writes the binding table into the
// session's memory.
func (e *sessionExt) Prepare(m *monitor.Monitor) error {
	s := (*Session)(e)
	ram := m.RAM()
	if err := s.notes.Check(m.Image(), uint64(len(ram))); err != nil {
		return err
	}
	if err := uaafabi.InstallWindow(ram, s.cfg.Backend, 0); err != nil {
		return err
	}
	if err := m.ProtectReadOnly(uaafabi.TrampGPA, 4096); err != nil {
		return err
	}
	b := ram[s.notes.Bindings:]
	for i, bd := range s.bindings {
		binary.LittleEndian.PutUint32(b[i*uaafabi.BindingSize:], bd.view)
		binary.LittleEndian.PutUint32(b[i*uaafabi.BindingSize+4:], bd.fn)
	}
	return nil
}

// VCPUReady binds an exitless backend to the session's vCPU.
func (e *sessionExt) VCPUReady(m *monitor.Monitor) error {
	if a, ok := e.sw.(switcher.Attacher); ok {
		return a.Attach(m.VM().FD(), m.VCPU().K.ID())
	}
	return nil
}

// CheckHypercall refuses, on an exitless backend, a hypercall made while
// the vCPU is in a library view: its pointers would be read in the
// session's memory, a way around the views.
func (e *sessionExt) CheckHypercall(*monitor.Monitor) error {
	if a, ok := e.sw.(switcher.Attacher); ok {
		view, err := a.ActiveView()
		if err != nil {
			return err
		}
		if view != 0 {
			return &monitor.GuestError{Msg: fmt.Sprintf("library view %d made a hypercall; on the vmfunc backend only the session may", view)}
		}
	}
	return nil
}

// HandleSwitch serves a switch from view 0: a call.
func (e *sessionExt) HandleSwitch(_ *monitor.Monitor, value uint32) (bool, error) {
	s := (*Session)(e)
	if v := s.viewAt(value); v != nil {
		s.mu.Lock()
		v.calls++
		s.mu.Unlock()
	}
	return false, s.sw.HandleSwitch(value)
}

// Stop interrupts a call in progress when the monitor is stopped.
func (e *sessionExt) Stop() {
	if e.sw != nil {
		e.sw.Stop()
	}
}

// Close is a no-op: Session.Close releases the session's resources.
func (e *sessionExt) Close() {}

// Stop ends a running session from any goroutine.
func (s *Session) Stop() {
	if s.mon != nil {
		s.mon.Stop()
	}
}

func (s *Session) viewAt(index uint32) *view {
	if index == 0 || int(index) > len(s.views) {
		return nil
	}
	return s.views[index-1]
}

func (s *Session) callArea() []byte {
	return s.mon.RAM()[uaafabi.CallGPA:uaafabi.WindowEnd:uaafabi.WindowEnd]
}

// start creates v's instance. It runs on the session's vCPU thread (or in
// New for eager binding).
func (s *Session) start(v *view) error {
	in, err := v.lib.NewInstance(s.callArea(), s.mon.Console())
	if err != nil {
		return err
	}
	s.mu.Lock()
	v.inst, v.discarded = in, false
	s.mu.Unlock()
	return nil
}

// sessionViews adapts a Session to switcher.Views.
type sessionViews Session

func (sv *sessionViews) View(index uint32) (switcher.View, bool, error) {
	s := (*Session)(sv)
	v := s.viewAt(index)
	if v == nil {
		return nil, false, nil
	}
	if v.inst == nil {
		if err := s.start(v); err != nil {
			fmt.Fprintf(s.logw(), "uaaf: session: cannot start library %s: %v\n", v.lib.Name, err)
			return nil, true, err
		}
	}
	return v.inst, true, nil
}

func (sv *sessionViews) Discard(index uint32, why error) {
	s := (*Session)(sv)
	v := s.viewAt(index)
	if v == nil || v.inst == nil {
		return
	}
	var fault *switcher.FaultError
	if errors.As(why, &fault) {
		fmt.Fprintf(s.logw(), "uaaf: %v; instance discarded\n", why)
	} else {
		fmt.Fprintf(s.logw(), "uaaf: library %s: %v; instance discarded\n", v.lib.Name, why)
	}
	s.dropInstance(v, true).Close()
}

// dropInstance detaches v's instance (keeping its exit count for the S-F
// row) and returns it for the caller to close, outside s.mu. discarded
// marks a broken one.
func (s *Session) dropInstance(v *view, discarded bool) *libfuncs.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := v.inst
	v.exits += in.Exits()
	v.inst = nil
	if discarded {
		v.discarded = true
		v.faults++
	}
	return in
}

func (s *Session) logw() io.Writer {
	if s.cfg.Monitor.Log != nil {
		return s.cfg.Monitor.Log
	}
	return os.Stderr
}

// ID returns the session's ID in its table (0 without a table).
func (s *Session) ID() ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Monitor returns the session's hvt monitor.
func (s *Session) Monitor() *monitor.Monitor { return s.mon }

// Run runs the session until it halts; see monitor.Monitor.Run. On the
// vmfunc backend a fault in a library view is fatal to the session (the
// module shuts the VM down); the error then says which view faulted.
func (s *Session) Run(ctx context.Context) (int, error) {
	status, err := s.mon.Run(ctx)
	if err != nil {
		if a, ok := s.sw.(switcher.Attacher); ok {
			if msg, faulted := a.Fault(); faulted {
				err = fmt.Errorf("%w; %s", err, msg)
			}
		}
	}
	return status, err
}

// Row returns the session's S-F table row.
func (s *Session) Row() Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Row{ID: s.id, Image: s.cfg.Monitor.Kernel, Switch: string(s.cfg.Backend)}
	for _, v := range s.views {
		state := "none"
		switch {
		case v.inst != nil:
			state = "live"
		case v.discarded:
			state = "discarded"
		}
		refs := 0
		if info, ok := s.cfg.Registry.Lookup(v.lib.Name); ok {
			refs = info.Refs
		}
		exits := v.exits
		if v.inst != nil {
			exits += v.inst.Exits()
		}
		r.Views = append(r.Views, ViewRow{Index: v.index, Library: v.lib.Name, Instance: state, Refs: refs, Calls: v.calls, Faults: v.faults, Exits: exits})
	}
	return r
}

// Close ends the session: closes its instances and VM, drops its library
// references (destroying unpinned libraries nobody else uses) and leaves
// the table. Call it from the goroutine that ran Run. Safe to call twice.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	for _, v := range s.views {
		if v.inst != nil {
			s.dropInstance(v, false).Close()
		}
	}
	if a, ok := s.sw.(switcher.Attacher); ok {
		a.Close()
	}
	if s.mon != nil {
		s.mon.Close()
	}
	for _, v := range s.views {
		if v.mapped != nil { // after the VM holding it as a memslot is gone
			libfuncs.FreeMapping(v.mapped)
			v.mapped = nil
		}
	}
	if id := s.ID(); id != 0 && s.cfg.Table != nil {
		s.cfg.Table.remove(id)
	}
	if !s.released {
		s.released = true
		for _, v := range s.views {
			s.cfg.Registry.Release(v.lib)
		}
	}
	return nil
}

// SwitchStats returns the switcher's counters (zero for a plain image).
func (s *Session) SwitchStats() switcher.Stats {
	if s.sw == nil {
		return switcher.Stats{}
	}
	return s.sw.Stats()
}

// BindTime is how long New took: reading imports, acquiring and resolving
// libraries, creating the VM.
func (s *Session) BindTime() time.Duration { return s.bindTime }
