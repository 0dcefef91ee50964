package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/libfuncs/libvm"
)

// Config says how to run one session.
type Config struct {
	// Monitor is the session image and its hvt settings (memory, devices,
	// console). Its Hooks must be empty: the session installs its own.
	Monitor monitor.Config
	// Image, if set, is the image prepared once (PrepareImage): the session
	// starts from its template, and Monitor's Kernel, Image and Template
	// are ignored. Its backend must be Switch's.
	Image *Image
	// Registry provides the libraries; required.
	Registry *libvm.Registry
	// Table records the session while it exists; nil means none.
	Table *Table
	// Switch is the switch backend selected for the process
	// (switcher.Select); nil means the exit backend.
	Switch *switcher.Selection
	// CallTimeout bounds each call; zero means switcher.DefaultDeadline.
	CallTimeout time.Duration
	// Eager starts every library instance at bind time instead of at its
	// first call.
	Eager bool
	// OnInstance, if set, is told each time an instance of a library
	// starts.
	OnInstance func(library string)
	// Libraries, if set, binds imports to other libraries than the ones
	// they name: an import of library k is served by the registry's
	// library Libraries[k] (same exports; loaded from NAME.hvt on the
	// search path like any other). A trace replayer uses it to give each
	// app private instances of shared code. Every key must be a library
	// the image imports, and no two imports may end up on one library.
	Libraries map[string]string
}

// Session is one running session unikernel with its library views. New
// binds it; Run runs it once; Close releases everything. Stop, Row and ID
// are safe from any goroutine.
type Session struct {
	cfg   Config
	mon   *monitor.Monitor
	notes *uaafabi.Notes
	sw    switcher.Backend // nil for an image that imports nothing

	libs     []*libvm.Entry // libs[i] is EPTP index i+1
	warm     []bool         // warm[i]: libs[i] was loaded when the session bound it
	bindings []binding      // bindings[i] resolves import i (written into guest memory)

	mu       sync.Mutex // guards id
	id       ID
	bindTime time.Duration
	closed   bool
}

// binding is where import i goes: struct uaaf_binding.
type binding struct{ view, fn uint32 }

// New binds a session: reads the image's imports, gives each imported
// library an EPTP index, takes a reference on each library (loading it from
// the registry's search path if needed), resolves every imported function,
// and creates the session's VM with the UaaF window and binding table in its
// memory. Errors name the import at fault. New takes over
// cfg.Monitor.Machine, as monitor.New does, even when it fails. The image
// is opened once: cfg.Monitor.Image if set (the caller closes it), else the
// file cfg.Monitor.Kernel.
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
	s = &Session{cfg: cfg}
	if pi := cfg.Image; pi != nil {
		if backend := s.backend(); pi.Backend != backend {
			return nil, fmt.Errorf("session: %s was prepared for the %s backend, not %s", pi.Path, pi.Backend, backend)
		}
		s.cfg.Monitor.Kernel, s.cfg.Monitor.Image, s.cfg.Monitor.Template = pi.Path, nil, pi.Template
		s.notes = pi.Notes
	} else {
		img := cfg.Monitor.Image
		if img == nil {
			if img, err = monitor.OpenImage(cfg.Monitor.Kernel); err != nil {
				return nil, err
			}
			defer img.Close()
			s.cfg.Monitor.Image = img
		}
		s.cfg.Monitor.Kernel = img.Path
		if s.notes, err = uaafabi.NotesOf(img.Image); err != nil {
			return nil, fmt.Errorf("%s: %w", img.Path, err)
		}
		if s.notes.IsLibrary() {
			return nil, fmt.Errorf("%w: %s exports functions; load it with --lib NAME=%s and run a session that imports it", ErrNotSession, img.Path, img.Path)
		}
	}
	cfg = s.cfg
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
		cfg.Monitor.Hooks = s.hooks()
	}
	machine = nil // monitor.New's from here
	if s.mon, err = monitor.New(cfg.Monitor); err != nil {
		return s, err
	}
	if s.notes.IsSession() {
		libs := make([]*libvm.Library, len(s.libs))
		for i, e := range s.libs {
			libs[i] = e.Lib()
		}
		s.sw, err = switcher.New(cfg.Switch, switcher.Config{
			Libraries: libs, CallArea: s.callArea(), SessionMem: s.mon.MemSize(),
			ViewData: s.mon.RAM()[uaafabi.ViewDataGPA : uaafabi.ViewDataGPA+guestmem.PageSize],
			Deadline: cfg.CallTimeout, Eager: cfg.Eager,
			Console: s.mon.Console(), Log: s.logw(), OnInstance: cfg.OnInstance,
		})
		if err != nil {
			return s, err
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
	names, err := aliased(order, s.cfg.Libraries)
	if err != nil {
		return fmt.Errorf("%s: %w", s.cfg.Monitor.Kernel, err)
	}
	for i, name := range names {
		e, warm, err := s.cfg.Registry.Acquire(name)
		if err != nil {
			if name != order[i] {
				name = fmt.Sprintf("%s (for imports of %s)", name, order[i])
			}
			return fmt.Errorf("%w: library %s (imported by %s): %w", ErrUnresolved, name, s.cfg.Monitor.Kernel, err)
		}
		s.libs = append(s.libs, e)
		s.warm = append(s.warm, warm)
	}
	for _, imp := range s.notes.Imports {
		view := index[imp.Lib]
		lib := s.libs[view-1].Lib()
		fn, ok := lib.ExportIndex(imp.Fn)
		if !ok {
			return fmt.Errorf("%w: function %s.%s: library %s (%s) exports %s", ErrUnresolved, imp.Lib, imp.Fn, names[view-1], lib.Path, strings.Join(lib.ExportNames(), ", "))
		}
		s.bindings = append(s.bindings, binding{view: uint32(view), fn: uint32(fn)})
	}
	return nil
}

// aliased returns the registry names of the imported libraries order
// under alias (Config.Libraries): alias[l] for l with an entry, else l. It
// fails with ErrUnresolved if alias names a library not imported, or two
// imports would share one library.
func aliased(order []string, alias map[string]string) ([]string, error) {
	if len(alias) == 0 {
		return order, nil
	}
	names := make([]string, len(order))
	by := make(map[string]string, len(order)) // registry name → import
	for i, l := range order {
		names[i] = l
		if a, ok := alias[l]; ok {
			names[i] = a
		}
		if prev, dup := by[names[i]]; dup {
			return nil, fmt.Errorf("%w: imports of %s and %s would both be served by library %s", ErrUnresolved, prev, l, names[i])
		}
		by[names[i]] = l
	}
	for _, k := range slices.Sorted(maps.Keys(alias)) {
		if !slices.Contains(order, k) {
			return nil, fmt.Errorf("%w: library %s is given another library (%s) but is not imported", ErrUnresolved, k, alias[k])
		}
	}
	return names, nil
}

// hooks are what the session adds to its monitor: the UaaF window and
// binding table, the backend's attach, its switches, and on an exitless
// backend the check that hypercalls come from view 0.
func (s *Session) hooks() monitor.Hooks {
	h := monitor.Hooks{
		Prepare: s.prepare,
		BeforeRun: func(m *monitor.Monitor) error {
			return s.sw.Attach(m.VM(), m.VCPU().K.ID())
		},
		Switch: func(_ *monitor.Monitor, view uint32) (bool, error) {
			return false, s.sw.Switch(view)
		},
		Stop: func() {
			if s.sw != nil {
				s.sw.Stop()
			}
		},
	}
	if s.backend() == uaafabi.BackendVMFUNC {
		// A hypercall made in a library view would have its pointers
		// read in the session's memory: a way around the views.
		h.CheckHypercall = func(*monitor.Monitor) error {
			view, err := s.sw.ActiveView()
			if err != nil {
				return err
			}
			if view != 0 {
				return &monitor.GuestError{Msg: fmt.Sprintf("library view %d made a hypercall; on the vmfunc backend only the session may", view)}
			}
			return nil
		}
	}
	return h
}

// backend is the kind of the session's switch backend.
func (s *Session) backend() uaafabi.Backend {
	if s.cfg.Switch != nil {
		return s.cfg.Switch.Backend
	}
	return uaafabi.BackendExit
}

// prepare installs the UaaF window (a template has it already) and writes
// the binding table into the session's memory.
func (s *Session) prepare(m *monitor.Monitor) error {
	ram := m.RAM()
	if s.cfg.Image == nil {
		ro, err := windowRanges(ram, s.notes, m.Image(), s.backend())
		if err != nil {
			return err
		}
		for _, r := range ro {
			if err := m.ProtectReadOnly(r.Start, r.End-r.Start); err != nil {
				return err
			}
		}
	}
	b := ram[s.notes.Bindings:]
	for i, bd := range s.bindings {
		binary.LittleEndian.PutUint32(b[i*uaafabi.BindingSize:], bd.view)
		binary.LittleEndian.PutUint32(b[i*uaafabi.BindingSize+4:], bd.fn)
	}
	return nil
}

// Stop ends a running session from any goroutine.
func (s *Session) Stop() {
	if s.mon != nil {
		s.mon.Stop()
	}
}

func (s *Session) callArea() []byte {
	return s.mon.RAM()[uaafabi.CallGPA:uaafabi.WindowEnd:uaafabi.WindowEnd]
}

func (s *Session) logw() *logWriter { return &logWriter{s} }

// logWriter writes the session's notices to its monitor's log.
type logWriter struct{ s *Session }

func (w *logWriter) Write(b []byte) (int, error) {
	if w.s.cfg.Monitor.Log != nil {
		return w.s.cfg.Monitor.Log.Write(b)
	}
	return os.Stderr.Write(b)
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
	if err != nil && s.sw != nil {
		if msg, faulted := s.sw.Fault(); faulted {
			err = fmt.Errorf("%w; %s", err, msg)
		}
	}
	return status, err
}

// Row returns the session's S-F table row.
func (s *Session) Row() Row {
	r := Row{ID: s.ID(), Image: s.cfg.Monitor.Kernel, Switch: string(uaafabi.BackendExit)}
	if s.sw == nil {
		return r
	}
	r.Switch = string(s.sw.Name())
	for i, v := range s.sw.Views() {
		r.Views = append(r.Views, ViewRow{Index: v.Index, Library: v.Library, Instance: v.Instance,
			Refs: s.cfg.Registry.Refs(s.libs[i]), Warm: s.warm[i], Calls: v.Calls, Faults: v.Faults, Exits: v.Exits})
	}
	return r
}

// Close ends the session: closes its VM and its views, drops its library
// references (releasing unpinned libraries nobody else uses to the
// registry's keep-alive policy) and leaves the table. Call it from the
// goroutine that ran Run. Safe to call twice.
func (s *Session) Close() error {
	s.Detach()()
	return nil
}

// Detach does the quick part of Close at once — the session leaves the S-F
// table and drops its library references (an unpinned library nobody
// references then follows its keep-alive policy) — and returns the rest:
// the destruction of its VM and its library instances, which takes ~0.5 ms
// a VM here, for the caller to run when it suits (once; Close runs it at
// once). The instances map their libraries' memory themselves, so they
// outlive a library unloaded meanwhile. Call it after Run has returned.
func (s *Session) Detach() (destroy func()) {
	if s == nil || s.closed {
		return func() {}
	}
	s.closed = true
	if id := s.ID(); id != 0 && s.cfg.Table != nil {
		s.cfg.Table.remove(id)
	}
	for _, e := range s.libs {
		s.cfg.Registry.Release(e)
	}
	mon, sw := s.mon, s.sw
	return func() {
		if mon != nil {
			mon.Close()
		}
		if sw != nil { // after the monitor: the views may be its memslots
			sw.Close()
		}
	}
}

// SwitchStats returns the backend's counters (zero for a plain image).
func (s *Session) SwitchStats() switcher.Stats {
	if s.sw == nil {
		return switcher.Stats{}
	}
	return s.sw.Stats()
}

// BindTime is how long New took: reading imports, acquiring and resolving
// libraries, creating the VM.
func (s *Session) BindTime() time.Duration { return s.bindTime }
