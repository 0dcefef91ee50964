package monitor

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// Monitor runs one hvt guest: a plain hvt image or a UaaF session (New), or
// one library instance serving calls (NewCallee). Create it, run it (Run for
// a guest, Call for an instance), and release it with Close. Stop may be
// called from any goroutine; everything else from the goroutine that runs
// it.
type Monitor struct {
	cfg      Config
	console  io.Writer
	log      io.Writer
	img      *hvt.Image
	manifest *hvt.Manifest // this guest's copy: attach fills in host fields

	// machine is the device, VM and vCPU; machine.VCPU is owned by the
	// vcpu runner from the first Run or Call on (and nil then).
	machine kvm.Machine
	tscKHz  uint64      // the vCPU's TSC frequency, when a shell read it already
	regsSet bool        // the vCPU has its boot registers (set by a shell)
	ram     []byte      // the whole guest RAM mapping
	mem     hvt.Memory  // ram as the guest may address it (hypercall checks)
	ro      []hvt.Range // pages read-only to the guest and the monitor: it never writes there
	roSlots bool        // ro is applied when RAM joins the VM (a template's guest: mapGuest)
	hostRO  bool        // …on the host, not as memslots (Template.ProtectOnHost)
	vcpu    *vcpu.Runner

	devices []device // indexed like manifest.Entries; nil for entry 0
	waker   int      // eventfd that wakes a blocked poll on Stop

	pollFDs   []unix.PollFd // net device fds, then waker
	pollIndex []uint        // manifest index of pollFDs[i]

	handlers [hvt.HypercallMax]hypercallFunc
	halted   bool
	status   int

	hooks       Hooks
	callee      *callee // set for a library instance (NewCallee)
	ramBorrowed bool    // ram belongs to the caller (Config.RAM, CalleeConfig.RAM)

	stopMu  sync.Mutex // guards vcpu against Stop from other goroutines
	stopped bool       // Stop was called; guarded by stopMu

	stats    Stats
	exits    atomic.Uint64             // KVM_RUN returns to user space, readable while running
	entered  atomic.Pointer[time.Time] // the guest's first entry, readable while running
	running  atomic.Pointer[runClock]  // the vCPU thread and its CPU time at entry, while Run runs
	switches atomic.Uint64
}

// Stats counts what a run cost. Exits and Switches are also readable while
// the guest runs (Monitor.Exits); the rest is filled by Run and read after it.
type Stats struct {
	// Load is the time from New's start to the guest image in memory with its
	// boot state written; Boot to the first KVM_RUN; Run the guest's run time.
	Load, Boot, Run time.Duration
	// Exits counts KVM_RUN returns to user space; Hypercalls counts them by
	// hypercall number.
	Exits      uint64
	Hypercalls [hvt.HypercallMax]uint64
	// Switches counts OUTs to the UaaF switch port (exit-backend calls).
	Switches uint64
	// Entered is when the guest was first entered (its first instruction).
	Entered time.Time
	// CPU is the CPU time of the vCPU thread while Run ran: the guest's
	// time in KVM_RUN and the monitor's serving its exits.
	CPU time.Duration
}

// New loads the image (cfg.Image, or the file cfg.Kernel), checks it and
// the configuration the way solo5-hvt does (in the same order, with the same
// messages), creates the VM and its vCPU, loads the guest and its boot state
// into memory and attaches the devices. Run then runs the vCPU on its own
// locked thread.
func New(cfg Config) (m *Monitor, err error) {
	start := time.Now()
	m = &Monitor{cfg: cfg, console: cfg.Console, log: cfg.Log, waker: -1, hooks: cfg.Hooks}
	if m.console == nil {
		m.console = os.Stdout
	}
	if m.log == nil {
		m.log = os.Stderr
	}
	if m.cfg.MemSize == 0 {
		m.cfg.MemSize = hvt.DefaultMemoryMiB << 20
	}
	if cfg.Shell != nil {
		m.cfg.Template, m.cfg.ReadyMachine, m.cfg.Machine = cfg.Shell.t, nil, nil
		if cfg.Machine != nil {
			go cfg.Machine.Discard()
		}
		if cfg.ReadyMachine != nil {
			cfg.ReadyMachine.Close()
		}
		cfg = m.cfg
	}
	switch {
	case cfg.Template != nil:
		m.cfg.Kernel, m.cfg.MemSize = cfg.Template.Path, cfg.Template.memSize
	case cfg.Image != nil:
		m.cfg.Kernel = cfg.Image.Path
	}
	ready := cfg.ReadyMachine
	shell := cfg.Shell
	var pending *kvm.PendingMachine // discarded on failure until joined
	if ready == nil && shell == nil {
		// The KVM machine (device, VM, vCPU) takes about a millisecond of
		// KVM work and needs nothing from the image: create it on another
		// thread while this one reads and loads the image, unless the
		// caller already started one.
		path := cfg.KVMPath
		if path == "" {
			path = kvm.DefaultPath
		}
		pending = cfg.Machine
		if pending == nil || pending.Path() != path {
			if pending != nil {
				go pending.Discard()
			}
			pending = kvm.StartMachine(path)
		}
	} else if cfg.Machine != nil {
		go cfg.Machine.Discard()
	}
	defer func() {
		if err != nil {
			if pending != nil {
				pending.Discard()
			}
			if ready != nil {
				ready.Close()
			}
			if shell != nil {
				shell.Close()
			}
			m.Close()
			m = nil
		}
	}()
	if m.cfg.MemSize%hvt.MemoryAlign != 0 || m.cfg.MemSize > hvt.MaxMemory {
		return m, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("guest memory size %d bytes is not a multiple of 2 MiB up to 4 GiB", m.cfg.MemSize)}
	}

	var img *Image
	if cfg.Template != nil {
		m.img = cfg.Template.img
	} else {
		if img = cfg.Image; img == nil {
			if img, err = OpenImage(cfg.Kernel); err != nil {
				return m, err
			}
			defer img.Close()
		}
		m.img = img.Image
	}
	m.manifest = cloneManifest(m.img.Manifest)
	if err := m.checkDeviceNames(); err != nil {
		return m, err
	}
	cmdline, err := m.cmdline()
	if err != nil {
		return m, err
	}

	if shell != nil {
		m.ram, m.mem, m.ro, m.machine = shell.ram, hvt.Memory(shell.ram), shell.t.readOnly(), *shell.machine
		m.tscKHz, m.regsSet = shell.tscKHz, shell.regsSet
		shell = nil // m.Close closes what it was
	} else {
		// Solo5 reports KVM errors after manifest errors and before
		// image-loading errors: join the machine between the two.
		if err := m.mapRAM(); err != nil {
			return m, err
		}
		var loadErr error
		if img != nil {
			loadErr = m.loadImage(img)
		}
		if ready != nil {
			err = m.takeMachine(ready)
		} else {
			err = m.joinMachine(pending)
		}
		pending, ready = nil, nil // m.Close closes what they yielded
		if err != nil {
			return m, err
		}
		if loadErr != nil {
			return m, loadErr
		}
	}
	if err := m.attachDevices(); err != nil {
		return m, err
	}
	if err := m.writeBootState(cmdline); err != nil {
		return m, err
	}
	m.registerHypercalls()
	if m.hooks.Prepare != nil {
		if err := m.hooks.Prepare(m); err != nil {
			return m, err
		}
	}
	m.stats.Load = time.Since(start)
	return m, nil
}

// cloneManifest copies mf, so that attaching devices to one guest does not
// change an image other guests are loaded from.
func cloneManifest(mf *hvt.Manifest) *hvt.Manifest {
	c := *mf
	c.Entries = slices.Clone(mf.Entries)
	return &c
}

// mapRAM maps guest RAM: a copy-on-write view of the template, or
// Config.RAM, or fresh anonymous memory.
func (m *Monitor) mapRAM() (err error) {
	if t := m.cfg.Template; t != nil {
		if m.ram, err = t.mapPrivate(); err != nil {
			return err
		}
		m.mem = hvt.Memory(m.ram)
		// Read-only as memslots when RAM joins the VM (mapGuest): the
		// host mapping stays whole.
		m.ro, m.roSlots, m.hostRO = t.readOnly(), true, t.hostRO
		return nil
	}
	if m.cfg.RAM != nil {
		if uint64(len(m.cfg.RAM)) != m.cfg.MemSize {
			return &Error{Kind: ErrConfig, Msg: fmt.Sprintf("guest RAM is %d bytes, memory size %d", len(m.cfg.RAM), m.cfg.MemSize)}
		}
		m.ram, m.ramBorrowed = m.cfg.RAM, true
	} else if m.ram, err = guestmem.Alloc(m.cfg.MemSize); err != nil {
		return &Error{Kind: ErrHost, Msg: err.Error(), Err: err}
	}
	m.mem = hvt.Memory(m.ram)
	return nil
}

// loadImage loads the ELF segments into guest RAM and makes the read-only
// ones read-only on the host.
func (m *Monitor) loadImage(img *Image) error {
	if err := img.load(m.ram); err != nil {
		return err
	}
	if err := m.protectText(); err != nil {
		return &Error{Kind: ErrHost, Msg: err.Error(), Err: err}
	}
	return nil
}

// joinMachine takes the machine started by New (or given in Config.Machine)
// with guest RAM mapped as memslot 0. While the machine's goroutine creates
// the VM and vCPU, this one queries the CPUID to give the vCPU, then maps RAM
// into the VM: the order in which they are likely ready. Errors are worded
// as solo5-hvt words its KVM errors, prefixed "KVM: ".
func (m *Monitor) joinMachine(p *kvm.PendingMachine) error {
	p.QueryCPUID()
	var slotErr error
	if vm := p.WaitVM(); vm != nil {
		slotErr = m.mapRAMSlots(vm)
	}
	km, err := p.Wait()
	if err != nil {
		return kvmErr(p.Path(), err)
	}
	m.machine = *km
	if slotErr != nil {
		return m.hostErr(slotErr)
	}
	return nil
}

// takeMachine takes a machine whose VM and vCPU exist, with guest RAM
// mapped as memslot 0.
func (m *Monitor) takeMachine(km *kvm.Machine) error {
	m.machine = *km
	if err := m.mapRAMSlots(km.VM); err != nil {
		return m.hostErr(err)
	}
	return nil
}

// mapRAMSlots installs guest RAM in vm from memslot 0: whole, or, for a
// guest of a template, with its read-only ranges as read-only memslots
// (protected on the host instead, and whole, for Template.ProtectOnHost).
func (m *Monitor) mapRAMSlots(vm *kvm.VM) error {
	// Asked here, by every New, whatever the guest: the first guest of a
	// process is made before its seccomp filter, which does not allow
	// KVM_CHECK_EXTENSION, and library instances made later under the
	// filter (NewCallee) need the answer.
	readOnlySlots(vm)
	if m.roSlots {
		_, err := mapGuest(vm, 0, 0, m.ram, m.ro, m.hostRO)
		return err
	}
	return vm.MapMemory(0, 0, m.ram, 0)
}

// kvmErr words an error creating a KVM machine from the device at path.
func kvmErr(path string, err error) error {
	if errorsIsAny(err, kvm.ErrNoKVM, kvm.ErrAPIVersion) {
		return &Error{Kind: ErrHost, Msg: fmt.Sprintf("KVM: %v (is KVM enabled, and may this user open %s?)", err, path), Err: err}
	}
	return &Error{Kind: ErrHost, Msg: "KVM: " + err.Error(), Err: err}
}

// protectText makes every non-writable segment read-only on the host, so the
// guest cannot change its own code or constants (W^X enforced from outside).
func (m *Monitor) protectText() error {
	for _, s := range m.img.Segments {
		if s.Writable() {
			continue
		}
		start := s.Vaddr &^ (guestmem.PageSize - 1)
		end := (s.Vaddr + s.Memsz + guestmem.PageSize - 1) &^ (guestmem.PageSize - 1)
		if err := m.ProtectReadOnly(start, end-start); err != nil {
			return err
		}
	}
	return nil
}

// ProtectReadOnly makes guest memory [gpa, gpa+n) read-only on the host (and
// so to the guest) and records it, so that no hypercall makes the monitor
// write there. gpa and n must be page aligned. Call it before Run.
func (m *Monitor) ProtectReadOnly(gpa, n uint64) error {
	if err := guestmem.ProtectReadOnly(m.ram, gpa, n); err != nil {
		return err
	}
	m.ro = append(m.ro, hvt.Range{Start: gpa, End: gpa + n})
	return nil
}

// ReadOnly returns the page ranges read-only to the guest so far (the
// image's text and rodata, and whatever hooks protected): on the host, or
// as read-only memslots for a guest of a template.
func (m *Monitor) ReadOnly() []hvt.Range { return slices.Clone(m.ro) }

// Image returns the loaded image's description (nil for a library
// instance).
func (m *Monitor) Image() *hvt.Image { return m.img }

// RAM returns the guest's memory (index = GPA). It is valid until Close.
func (m *Monitor) RAM() []byte { return m.ram }

// MemSize returns the guest memory size in bytes.
func (m *Monitor) MemSize() uint64 { return uint64(len(m.ram)) }

// VM returns the guest's KVM VM.
func (m *Monitor) VM() *kvm.VM { return m.machine.VM }

// VCPU returns the guest's vCPU while Run runs (nil before). Hooks use it
// on the vCPU thread.
func (m *Monitor) VCPU() *vcpu.Runner { return m.vcpu }

// Console returns where guest console output goes.
func (m *Monitor) Console() io.Writer { return m.console }

// Kernel returns the image path being run.
func (m *Monitor) Kernel() string { return m.cfg.Kernel }

// Stats returns the run's counters; call after Run returns.
func (m *Monitor) Stats() Stats {
	st := m.stats
	st.Exits, st.Switches = m.exits.Load(), m.switches.Load()
	st.Entered, _ = m.EnteredAt()
	return st
}

// EnteredAt returns when the guest was first entered (its first
// instruction) and true, or false while it has not been. Safe from any
// goroutine, while it runs.
func (m *Monitor) EnteredAt() (time.Time, bool) {
	if t := m.entered.Load(); t != nil {
		return *t, true
	}
	return time.Time{}, false
}

// runClock is what CPUTime needs to read a running vCPU thread's CPU time
// from another thread.
type runClock struct {
	tid  int
	cpu0 time.Duration
}

// CPUTime returns the CPU time the vCPU thread has spent on this guest so
// far (in KVM_RUN and serving its exits) and true while Run runs; false
// before and after (then Stats().CPU has the total). Safe from any
// goroutine, but not from a thread confined to seccomp.Runner (a vCPU
// thread): that profile allows clock_gettime of the calling thread's own
// clock only, not of another thread's (ThreadCPU).
func (m *Monitor) CPUTime() (time.Duration, bool) {
	rc := m.running.Load()
	if rc == nil {
		return 0, false
	}
	t, err := ThreadCPU(rc.tid)
	if err != nil {
		return 0, false
	}
	return t - rc.cpu0, true
}

// ThreadCPU returns the CPU time of thread tid of this process, read
// through its CPU-time clock (clock_gettime with the thread's clock id;
// seccomp.Daemon allows it, seccomp.Runner does not).
func ThreadCPU(tid int) (time.Duration, error) {
	// The kernel's clock id for a thread's scheduler CPU time: the tid,
	// complemented, above the per-thread flag (4) and CPUCLOCK_SCHED (2).
	clock := int32(^uint32(tid)<<3 | 4 | 2)
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, fmt.Errorf("CPU time of thread %d: %w", tid, err)
	}
	return time.Duration(ts.Nano()), nil
}

// Exits returns how many VM exits the guest has taken so far. Safe from any
// goroutine, while it runs.
func (m *Monitor) Exits() uint64 { return m.exits.Load() }

// Stop ends a running guest: Run (or Call) returns an error wrapping
// vcpu.ErrStopped, now or when it next runs; the Monitor cannot run again.
// Safe from any goroutine, before or during Run.
func (m *Monitor) Stop() {
	m.stopMu.Lock()
	m.stopped = true
	if m.vcpu != nil {
		m.vcpu.Stop()
	}
	stopHook := m.hooks.Stop
	m.stopMu.Unlock()
	if stopHook != nil {
		stopHook()
	}
	// Under stopMu: Close may be closing the waker concurrently (a Stop
	// from ctx's AfterFunc can outlive Run).
	m.stopMu.Lock()
	if m.waker >= 0 {
		var one = [8]byte{1}
		unix.Write(m.waker, one[:])
	}
	m.stopMu.Unlock()
}

func (m *Monitor) guestFault(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if m.callee != nil {
		msg = "library " + m.callee.name + ": " + msg
	}
	return &GuestError{Msg: msg}
}

func (m *Monitor) hostErr(err error) error {
	return &Error{Kind: ErrHost, Msg: "KVM: " + err.Error(), Err: err}
}

// Close releases the VM, its memory and the device backends. It is safe to
// call more than once and on a Monitor whose New failed half way. A library
// instance must be closed on the goroutine that called Call.
func (m *Monitor) Close() error {
	if m == nil {
		return nil
	}
	m.stopMu.Lock()
	m.hooks = Hooks{}
	v := m.vcpu
	m.vcpu = nil
	m.stopMu.Unlock()
	if v != nil {
		v.Close() // a library instance's runner lives across calls
	}
	for _, d := range m.devices {
		if d != nil {
			d.close()
		}
	}
	m.devices = nil
	m.stopMu.Lock()
	if m.waker >= 0 {
		unix.Close(m.waker)
		m.waker = -1
	}
	m.stopMu.Unlock()
	m.machine.Close() // the vCPU too if it never ran
	// The memslot is gone with the VM fd only once the kernel drops the VM;
	// the mapping itself is ours to free now that no vCPU can run.
	if m.ram != nil && !m.ramBorrowed {
		guestmem.Free(m.ram)
	}
	m.ram, m.mem = nil, nil
	return nil
}
