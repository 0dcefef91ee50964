package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// Monitor runs one hvt guest. Create it with New, run it once with Run, and
// release it with Close. Stop may be called from any goroutine.
type Monitor struct {
	cfg      Config
	console  io.Writer
	log      io.Writer
	img      *hvt.Image
	manifest *hvt.Manifest

	// machine is the device, VM and vCPU; machine.VCPU is owned by Run's
	// VCPU from Run on (and nil then).
	machine kvm.Machine
	ram     []byte      // the whole guest RAM mapping
	mem     hvt.Memory  // ram as the guest may address it (hypercall checks)
	ro      []hvt.Range // pages read-only on the host: the monitor never writes there
	vcpu    *vcpu.Runner

	devices []device // indexed like manifest.Entries; nil for entry 0
	waker   int      // eventfd that wakes a blocked poll on Stop

	pollFDs   []unix.PollFd // net device fds, then waker
	pollIndex []uint        // manifest index of pollFDs[i]

	handlers [hvt.HypercallMax]hypercallFunc
	halted   bool
	status   int

	ext         Extension
	ramBorrowed bool // ram belongs to the caller (Config.RAM)

	stopMu  sync.Mutex // guards vcpu against Stop from other goroutines
	stopped bool       // Stop was called; guarded by stopMu

	stats Stats
}

// Stats counts what a run cost. It is filled by Run and read after it.
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
}

// New loads the image named by cfg.Kernel, checks it and the configuration
// the way solo5-hvt does (in the same order, with the same messages), creates
// the VM and its vCPU, loads the guest and its boot state into memory and
// attaches the devices. Run then runs the vCPU on its own locked thread.
func New(cfg Config) (m *Monitor, err error) {
	start := time.Now()
	m = &Monitor{cfg: cfg, console: cfg.Console, log: cfg.Log, waker: -1}
	if m.console == nil {
		m.console = os.Stdout
	}
	if m.log == nil {
		m.log = os.Stderr
	}
	if m.cfg.MemSize == 0 {
		m.cfg.MemSize = hvt.DefaultMemoryMiB << 20
	}
	// The KVM machine (device, VM, vCPU) takes about a millisecond of KVM
	// work and needs nothing from the image: create it on another thread
	// while this one reads and loads the image, unless the caller already
	// started one.
	path := cfg.KVMPath
	if path == "" {
		path = kvm.DefaultPath
	}
	pending := cfg.Machine
	if pending == nil || pending.Path() != path {
		if pending != nil {
			go pending.Discard()
		}
		pending = kvm.StartMachine(path)
	}
	unjoined := pending // discarded on failure until joined
	defer func() {
		if err != nil {
			if unjoined != nil {
				unjoined.Discard()
			}
			m.Close()
			m = nil
		}
	}()
	if m.cfg.MemSize%hvt.MemoryAlign != 0 || m.cfg.MemSize > hvt.MaxMemory {
		return m, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("guest memory size %d bytes is not a multiple of 2 MiB up to 4 GiB", m.cfg.MemSize)}
	}

	f, err := hvt.Open(cfg.Kernel)
	if err != nil {
		return m, CouldNotOpen(cfg.Kernel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return m, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %v", cfg.Kernel, err), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return m, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: not a regular file", cfg.Kernel)}
	}
	m.img, err = hvt.Parse(f, fi.Size())
	if err != nil {
		return m, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %v", cfg.Kernel, err), Err: err}
	}
	m.manifest = m.img.Manifest
	if err := m.checkDeviceNames(); err != nil {
		return m, err
	}
	cmdline, err := m.cmdline()
	if err != nil {
		return m, err
	}

	// Solo5 reports KVM errors after manifest errors and before
	// image-loading errors: join the machine between the two.
	if err := m.mapRAM(); err != nil {
		return m, err
	}
	loadErr := m.loadImage(f)
	unjoined = nil // joinMachine owns it now, and m.Close what it yields
	if err := m.joinMachine(pending); err != nil {
		return m, err
	}
	if loadErr != nil {
		return m, loadErr
	}
	if err := m.attachDevices(); err != nil {
		return m, err
	}
	if err := m.writeBootState(cmdline); err != nil {
		return m, err
	}
	m.registerHypercalls()
	if cfg.Extension != nil {
		if err := cfg.Extension.Prepare(m); err != nil {
			return m, err
		}
		m.ext = cfg.Extension
	}
	m.stats.Load = time.Since(start)
	return m, nil
}

// CouldNotOpen is the error for an image that cannot be opened, worded as
// solo5-hvt words it: "PATH: Could not open: REASON". It wraps ErrConfig and
// err.
func CouldNotOpen(path string, err error) *Error {
	return &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: Could not open: %v", path, pathReason(err)), Err: err}
}

// pathReason is err without the *os.PathError wrapping (the caller names the
// path itself).
func pathReason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// mapRAM maps guest RAM (or takes Config.RAM).
func (m *Monitor) mapRAM() (err error) {
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
func (m *Monitor) loadImage(f *os.File) (err error) {
	if err := m.img.Load(f, m.ram); err != nil {
		return &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %v", m.cfg.Kernel, err), Err: err}
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
		slotErr = vm.MapMemory(0, 0, m.ram, 0)
	}
	km, err := p.Wait()
	switch {
	case errors.Is(err, kvm.ErrNoKVM), errors.Is(err, kvm.ErrAPIVersion):
		return &Error{Kind: ErrHost, Msg: fmt.Sprintf("KVM: %v (is KVM enabled, and may this user open %s?)", err, p.Path()), Err: err}
	case err != nil:
		return m.hostErr(err)
	}
	m.machine = *km
	if slotErr != nil {
		return m.hostErr(slotErr)
	}
	return nil
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

// ReadOnly returns the page ranges made read-only on the host so far (the
// image's text and rodata, and whatever extensions protected).
func (m *Monitor) ReadOnly() []hvt.Range { return append([]hvt.Range(nil), m.ro...) }

// Image returns the loaded image's description.
func (m *Monitor) Image() *hvt.Image { return m.img }

// RAM returns the guest's memory (index = GPA). It is valid until Close.
func (m *Monitor) RAM() []byte { return m.ram }

// MemSize returns the guest memory size in bytes.
func (m *Monitor) MemSize() uint64 { return m.cfg.MemSize }

// VM returns the guest's KVM VM.
func (m *Monitor) VM() *kvm.VM { return m.machine.VM }

// System returns the open KVM device.
func (m *Monitor) System() *kvm.System { return m.machine.Sys }

// VCPU returns the guest's vCPU while Run runs (nil before). Extensions use
// it from HandleSwitch, on the vCPU thread.
func (m *Monitor) VCPU() *vcpu.Runner { return m.vcpu }

// Console returns where guest console output goes.
func (m *Monitor) Console() io.Writer { return m.console }

// Kernel returns the image path being run.
func (m *Monitor) Kernel() string { return m.cfg.Kernel }

// Stats returns the run's counters; call after Run returns.
func (m *Monitor) Stats() Stats { return m.stats }

// Stop ends a running guest: Run returns an error wrapping
// vcpu.ErrStopped. Safe from any goroutine, before or during Run.
func (m *Monitor) Stop() {
	m.stopMu.Lock()
	m.stopped = true
	if m.vcpu != nil {
		m.vcpu.Stop()
	}
	ext := m.ext
	m.stopMu.Unlock()
	if ext != nil {
		ext.Stop()
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

// Run runs the guest on the calling goroutine (locked to its OS thread for
// the duration) until it halts, faults or is stopped. A halt returns the
// guest's exit status (0–255) and a nil error; anything else returns an error:
// a *GuestError for a guest that broke the ABI or faulted, one wrapping
// vcpu.ErrStopped after Stop or when ctx is done, ErrHost otherwise.
func (m *Monitor) Run(ctx context.Context) (status int, err error) {
	bootStart := time.Now()
	if m.machine.VCPU == nil {
		return 0, &Error{Kind: ErrHost, Msg: "monitor: Run called twice, or after a failed New"}
	}
	m.machine.VCPU.KeepP(m.cfg.SoleGuest)
	v := vcpu.New(m.machine.VCPU)
	m.machine.VCPU = nil // v owns it now
	v.Start()
	defer func() {
		// context.AfterFunc's stop does not wait for a Stop already
		// running: detach the vCPU under stopMu before Close unmaps its
		// run page, so that Stop never touches it afterwards.
		m.stopMu.Lock()
		m.vcpu = nil
		m.stopMu.Unlock()
		v.Close()
	}()
	m.stopMu.Lock()
	m.vcpu = v
	if m.stopped {
		v.Stop()
	}
	m.stopMu.Unlock()
	if err := m.initVCPU(); err != nil {
		return 0, err
	}
	if m.ext != nil {
		if err := m.ext.VCPUReady(m); err != nil {
			return 0, err
		}
	}
	stopWatch := context.AfterFunc(ctx, m.Stop)
	defer stopWatch()

	m.stats.Boot = time.Since(bootStart)
	runStart := time.Now()
	defer func() { m.stats.Run = time.Since(runStart) }()
	for !m.halted {
		if err := m.step(v); err != nil {
			if errors.Is(err, vcpu.ErrStopped) {
				return 0, stoppedErr(ctx, err)
			}
			return 0, err
		}
	}
	return m.status, nil
}

// step enters the guest once and serves the exit it comes back with.
func (m *Monitor) step(v *vcpu.Runner) error {
	reason, err := v.Run()
	switch {
	case errors.Is(err, vcpu.ErrStopped):
		return err
	case errors.Is(err, unix.EFAULT):
		return m.guestFault("KVM: host/guest translation fault: rip=0x%x", m.rip())
	case err != nil:
		return m.hostErr(err)
	}
	m.stats.Exits++
	return m.handleExit(reason)
}

// handleExit dispatches one KVM exit. Only port I/O to the hypercall ports is
// part of the ABI; every other exit ends the guest.
func (m *Monitor) handleExit(reason kvm.ExitReason) error {
	k := m.vcpu.K
	switch reason {
	case kvm.ExitIO:
		io := k.IO()
		data := k.IOData()
		port := uint32(io.Port)
		if io.Direction != kvm.IODirOut || io.Size != 4 || io.Count != 1 || len(data) != 4 {
			return m.guestFault("Invalid guest port access: port=0x%x", port)
		}
		value := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		if port == uaafabi.SwitchPort && m.ext != nil {
			m.stats.Switches++
			stop, err := m.ext.HandleSwitch(m, value)
			if stop && err == nil {
				m.halted, m.status = true, 0
			}
			return err
		}
		if port < hvt.PIOBase || port >= hvt.PIOBase+uint32(hvt.HypercallMax) {
			return m.guestFault("Invalid guest port access: port=0x%x", port)
		}
		nr := hvt.Hypercall(port - hvt.PIOBase)
		gpa := uint64(value)
		if m.ext != nil {
			if err := m.ext.CheckHypercall(m); err != nil {
				return err
			}
		}
		h := m.handlers[nr]
		if h == nil {
			return m.guestFault("Invalid guest hypercall: num=%d", uint32(nr))
		}
		m.stats.Hypercalls[nr]++
		return h(m, gpa)
	case kvm.ExitMMIO:
		mmio := k.MMIO()
		if mmio.PhysAddr < uint64(len(m.ram)) {
			// Under PVM a write to a host-read-only page arrives as MMIO;
			// hardware KVM returns EFAULT from KVM_RUN for the same access.
			return m.guestFault("KVM: host/guest translation fault: rip=0x%x (%s read-only guest memory at gpa=0x%x)",
				m.rip(), accessKind(mmio.IsWrite), mmio.PhysAddr)
		}
		return m.guestFault("KVM: unhandled exit: exit_reason=0x%x, rip=0x%x (access to unbacked gpa=0x%x)",
			uint32(reason), m.rip(), mmio.PhysAddr)
	case kvm.ExitFailEntry:
		return m.guestFault("KVM: entry failure: hw_entry_failure_reason=0x%x", k.FailEntry().HardwareEntryFailureReason)
	case kvm.ExitInternalError:
		return m.guestFault("KVM: internal error exit: suberror=0x%x", k.InternalError().Suberror)
	case kvm.ExitShutdown:
		return m.guestFault("KVM: unhandled exit: exit_reason=0x%x, rip=0x%x (triple fault)", uint32(reason), m.rip())
	}
	return m.guestFault("KVM: unhandled exit: exit_reason=0x%x, rip=0x%x", uint32(reason), m.rip())
}

func accessKind(isWrite uint8) string {
	if isWrite != 0 {
		return "write to"
	}
	return "read of"
}

// rip reads the guest's instruction pointer for an error message. It costs a
// register ioctl, so it is used only on paths that end the guest.
func (m *Monitor) rip() uint64 {
	r, err := m.vcpu.K.GetRegs()
	if err != nil {
		return 0
	}
	return r.RIP
}

func (m *Monitor) guestFault(format string, args ...any) error {
	return &GuestError{Msg: fmt.Sprintf(format, args...)}
}

// Close releases the VM, its memory and the device backends. It is safe to
// call more than once and on a Monitor whose New failed half way.
func (m *Monitor) Close() error {
	if m == nil {
		return nil
	}
	m.stopMu.Lock()
	ext := m.ext
	m.ext = nil
	m.stopMu.Unlock()
	if ext != nil {
		ext.Close()
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
	m.machine.Close() // the vCPU too if New succeeded but Run never ran
	// The memslot is gone with the VM fd only once the kernel drops the VM;
	// the mapping itself is ours to free now that no vCPU can run.
	if m.ram != nil && !m.ramBorrowed {
		guestmem.Free(m.ram)
	}
	m.ram, m.mem = nil, nil
	return nil
}

// stoppedErr says why a stopped guest stopped: ctx's cause when ctx ended
// the run, else err.
func stoppedErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return fmt.Errorf("%w: %w", vcpu.ErrStopped, cause)
	}
	return err
}
