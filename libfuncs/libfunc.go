package libfuncs

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// LibFunc is one preloaded library-function unikernel. Its exported fields
// never change after Preload; refs, pinned and dead are guarded by the
// registry's mutex.
type LibFunc struct {
	Name    string
	Path    string
	Exports []uaafabi.Export

	reg     *Registry
	memfd   int // pristine memory: the library's RAM at its ready point
	memSize uint64
	sregs   kvm.Sregs   // special registers at the ready point (GDT, IDT, TR, FS base …)
	ro      []hvt.Range // pages read-only in every instance: text, rodata, trampoline
	preload time.Duration

	refs   int
	pinned bool
	dead   bool
}

// preloadTimeout bounds a library's boot to its ready point.
const preloadTimeout = 30 * time.Second

// load boots the library at path to its ready point in a memfd-backed VM and
// keeps the memory as the pristine image.
func (r *Registry) load(name, path string) (*LibFunc, error) {
	start := time.Now()
	f, err := hvt.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, name, monitor.CouldNotOpen(path, err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	notes, err := uaafabi.ReadNotes(f, fi.Size())
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !notes.IsLibrary() {
		return nil, fmt.Errorf("%w: %s exports no functions (build it with UAAF_EXPORT)", ErrNotLibrary, path)
	}

	fd, err := unix.MemfdCreate("uaaf-lib-"+name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("libfuncs: memfd: %w", err)
	}
	lf := &LibFunc{Name: name, Path: path, Exports: notes.Exports, reg: r, memfd: fd, memSize: r.cfg.MemSize}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.Ftruncate(fd, int64(lf.memSize)); err != nil {
		return nil, fmt.Errorf("libfuncs: memfd size: %w", err)
	}
	ram, err := unix.Mmap(fd, 0, int(lf.memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("libfuncs: map memfd: %w", err)
	}
	defer unix.Munmap(ram)

	pre := &preloadExt{lf: lf, notes: notes}
	m, err := monitor.New(monitor.Config{
		Kernel: path, MemSize: lf.memSize, RAM: ram,
		Console: r.cfg.Console, Log: r.cfg.Console,
		KVMPath: r.cfg.KVMPath, Extension: pre,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPreload, name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), preloadTimeout)
	status, err := m.Run(ctx)
	cancel()
	// What the monitor made read-only (text, rodata), plus the trampoline
	// page, stays read-only in every instance.
	lf.ro = append(m.ReadOnly(), hvt.Range{Start: uaafabi.TrampGPA, End: uaafabi.TrampGPA + 4096})
	m.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrPreload, name, err)
	case !pre.ready:
		return nil, fmt.Errorf("%w: %s exited with status %d before serving (does it call solo5_app_main instead of being a library?)", ErrPreload, name, status)
	}
	lf.preload = time.Since(start)
	ok = true
	return lf, nil
}

// preloadExt runs a library to its ready point: the first switch to view 0,
// made from the trampoline's ready entry with its view data filled in.
type preloadExt struct {
	lf    *LibFunc
	notes *uaafabi.Notes
	ready bool
}

func (p *preloadExt) Prepare(m *monitor.Monitor) error {
	if err := p.notes.Check(m.Image(), m.MemSize()); err != nil {
		return err
	}
	// Preload always runs the exit trampoline: the ready signal must reach
	// the monitor. A vmfunc instance gets its own trampoline (MapPrivate).
	return uaafabi.InstallWindow(m.RAM(), uaafabi.BackendExit, 0)
}

func (p *preloadExt) HandleSwitch(m *monitor.Monitor, value uint32) (bool, error) {
	if value != 0 {
		return false, &monitor.GuestError{Msg: fmt.Sprintf("library %s switched to view %d while preloading", p.lf.Name, value)}
	}
	resume, rsp, role := uaafabi.ViewData(m.RAM())
	if role != uaafabi.RoleLibFunc || resume != uaafabi.TrampCalleeEntry || rsp == 0 {
		return false, &monitor.GuestError{Msg: fmt.Sprintf(
			"library %s reported ready with bad view data (role %d, resume %#x, stack %#x)", p.lf.Name, role, resume, rsp)}
	}
	sregs, err := m.VCPU().K.GetSregs()
	if err != nil {
		return false, err
	}
	p.lf.sregs = sregs
	p.ready = true
	return true, nil
}

func (p *preloadExt) VCPUReady(*monitor.Monitor) error      { return nil }
func (p *preloadExt) CheckHypercall(*monitor.Monitor) error { return nil }
func (p *preloadExt) Stop()                                 {}
func (p *preloadExt) Close()                                {}

// destroy frees the pristine memory. Instances that still map it keep their
// pages (the mapping holds the memfd's pages alive). Called with the
// registry's mutex held.
func (lf *LibFunc) destroy() {
	if lf.dead {
		return
	}
	lf.dead = true
	unix.Close(lf.memfd)
	lf.memfd = -1
}

func (lf *LibFunc) info() Info {
	in := Info{Name: lf.Name, Path: lf.Path, Refs: lf.refs, Pinned: lf.pinned, MemSize: lf.memSize, Preload: lf.preload, Exports: lf.ExportNames()}
	var st unix.Stat_t
	if lf.memfd >= 0 && unix.Fstat(lf.memfd, &st) == nil {
		in.Resident = uint64(st.Blocks) * 512
	}
	return in
}

// ExportNames returns the names of the library's exports, in index order.
func (lf *LibFunc) ExportNames() []string {
	names := make([]string, len(lf.Exports))
	for i, e := range lf.Exports {
		names[i] = e.Name
	}
	return names
}

// ExportIndex returns the index of export fn.
func (lf *LibFunc) ExportIndex(fn string) (int, bool) {
	for i, e := range lf.Exports {
		if e.Name == fn {
			return i, true
		}
	}
	return 0, false
}

// Instance is one session's private view of a library: a KVM VM whose
// memory is a copy-on-write mapping of the pristine image, with the
// session's call area mapped at uaafabi.CallGPA, and one vCPU parked at the
// trampoline's callee entry. It is used on the session's vCPU thread.
type Instance struct {
	lf      *LibFunc
	vm      *kvm.VM
	ram     []byte
	mem     hvt.Memory
	ro      []hvt.Range // read-only pages: never written by the monitor
	vcpu    *vcpu.Runner
	console io.Writer
	started bool

	exits atomic.Uint64 // VM exits of this instance
}

// Exits returns how many VM exits the instance has taken. Safe from any
// goroutine.
func (in *Instance) Exits() uint64 { return in.exits.Load() }

// NewInstance starts a private instance of lf for a session whose call area
// is callArea (uaafabi.CallSize bytes of the session's RAM, from mmap).
// Console output of the library goes to console. Instances outlive a
// destroyed library: they keep its pages mapped.
func (lf *LibFunc) NewInstance(callArea []byte, console io.Writer) (in *Instance, err error) {
	lf.reg.mu.Lock()
	dead, fd := lf.dead, lf.memfd
	lf.reg.mu.Unlock()
	if dead {
		return nil, fmt.Errorf("libfuncs: %s was destroyed", lf.Name)
	}
	if len(callArea) != uaafabi.CallSize {
		return nil, fmt.Errorf("libfuncs: call area is %d bytes, want %d", len(callArea), uaafabi.CallSize)
	}
	cpuid, err := lf.reg.supportedCPUID()
	if err != nil {
		return nil, err
	}
	ram, err := lf.mapPrivate(fd, uaafabi.BackendExit)
	if err != nil {
		return nil, err
	}
	in = &Instance{lf: lf, ram: ram, mem: hvt.Memory(ram), console: console}
	in.ro = lf.ro
	defer func() {
		if err != nil {
			in.Close()
			in = nil
		}
	}()
	if in.vm, err = lf.reg.sys.CreateVM(); err != nil {
		return nil, fmt.Errorf("libfuncs: %s: %w", lf.Name, err)
	}
	slots := []struct {
		gpa uint64
		mem []byte
	}{
		{0, ram[:uaafabi.CallGPA]},
		{uaafabi.CallGPA, callArea},
		{uaafabi.WindowEnd, ram[uaafabi.WindowEnd:]},
	}
	for i, s := range slots {
		if err := in.vm.MapMemory(uint32(i), s.gpa, s.mem, 0); err != nil {
			return nil, fmt.Errorf("libfuncs: %s: %w", lf.Name, err)
		}
	}
	k, err := in.vm.CreateVCPU(0)
	if err != nil {
		return nil, fmt.Errorf("libfuncs: %s: %w", lf.Name, err)
	}
	in.vcpu = vcpu.New(k)
	if err := k.SetCPUID(cpuid); err != nil {
		return nil, err
	}
	sregs := lf.sregs
	if err := k.SetSregs(&sregs); err != nil {
		return nil, err
	}
	regs := kvm.Regs{RIP: uaafabi.TrampCalleeEntry, RFLAGS: 0x2}
	if err := k.SetRegs(&regs); err != nil {
		return nil, err
	}
	return in, nil
}

// mapPrivate maps the pristine image copy-on-write, puts backend b's
// trampoline in it (the pristine one is the exit backend's, which preload
// needs), and protects the read-only ranges (text, rodata, trampoline) on
// the host.
func (lf *LibFunc) mapPrivate(fd int, b uaafabi.Backend) ([]byte, error) {
	ram, err := unix.Mmap(fd, 0, int(lf.memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("libfuncs: map %s privately: %w", lf.Name, err)
	}
	if b != uaafabi.BackendExit {
		code, err := uaafabi.Trampoline(b)
		if err != nil {
			unix.Munmap(ram)
			return nil, err
		}
		copy(ram[uaafabi.TrampGPA:], code)
	}
	for _, r := range lf.ro {
		if err := guestmem.ProtectReadOnly(ram, r.Start, r.End-r.Start); err != nil {
			unix.Munmap(ram)
			return nil, err
		}
	}
	return ram, nil
}

// MapPrivate returns a private copy-on-write mapping of the pristine image,
// with backend b's trampoline, for a view that runs inside the session's
// own VM (the vmfunc backend); the caller unmaps it with FreeMapping after
// the memslot is gone.
func (lf *LibFunc) MapPrivate(b uaafabi.Backend) ([]byte, error) {
	lf.reg.mu.Lock()
	dead, fd := lf.dead, lf.memfd
	lf.reg.mu.Unlock()
	if dead {
		return nil, fmt.Errorf("libfuncs: %s was destroyed", lf.Name)
	}
	return lf.mapPrivate(fd, b)
}

// FreeMapping unmaps memory returned by MapPrivate.
func FreeMapping(b []byte) error { return unix.Munmap(b) }

// MemSize returns the library's guest memory size.
func (lf *LibFunc) MemSize() uint64 { return lf.memSize }

// ReadOnlyRanges returns the page ranges [start, end) that are read-only in
// every instance: text, rodata and the trampoline page.
func (lf *LibFunc) ReadOnlyRanges() []hvt.Range { return append([]hvt.Range(nil), lf.ro...) }

// Library returns the library this is an instance of.
func (in *Instance) Library() *LibFunc { return in.lf }

// Memory returns the instance's guest memory (for tests and accounting).
func (in *Instance) Memory() []byte { return in.ram }

// Stop interrupts a running Enter; the instance cannot run again.
func (in *Instance) Stop() {
	if in.vcpu != nil {
		in.vcpu.Stop()
	}
}

// Close releases the instance's VM, vCPU and memory. Call it on the thread
// that ran it.
func (in *Instance) Close() error {
	if in.vcpu != nil {
		in.vcpu.Close()
		in.vcpu = nil
	}
	if in.vm != nil {
		in.vm.Close()
		in.vm = nil
	}
	if in.ram != nil {
		unix.Munmap(in.ram)
		in.ram, in.mem = nil, nil
	}
	return nil
}
