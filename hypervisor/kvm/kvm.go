package kvm

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// APIVersion is the only KVM API version there has ever been (KVM_API_VERSION).
const APIVersion = 12

// DefaultPath is where the KVM device normally lives.
const DefaultPath = "/dev/kvm"

// System is an open /dev/kvm. Its methods are safe for concurrent use.
type System struct {
	fd       int
	mmapOnce sync.Once
	mmapSize int
	mmapErr  error
}

// Open opens the KVM device at path and checks its API version. A device that
// cannot be opened gives an error wrapping ErrNoKVM.
func Open(path string) (*System, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrNoKVM, path, err)
	}
	s := &System{fd: fd}
	v, err := ioctlInt(fd, reqGetAPIVersion, 0)
	if err != nil {
		s.Close()
		return nil, err
	}
	if v != APIVersion {
		s.Close()
		return nil, fmt.Errorf("%w: %d (want %d)", ErrAPIVersion, v, APIVersion)
	}
	return s, nil
}

// FD returns the system file descriptor. It stays owned by s.
func (s *System) FD() int { return s.fd }

// Close closes the device. VMs created from it stay valid.
func (s *System) Close() error {
	if s.fd < 0 {
		return ErrClosed
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// CheckExtension returns KVM_CHECK_EXTENSION for c on the system fd: 0 when
// absent, otherwise a capability-specific positive value.
func (s *System) CheckExtension(c Cap) (int, error) {
	return ioctlInt(s.fd, reqCheckExtension, uintptr(c))
}

// VCPUMmapSize returns the size of a vCPU's kvm_run mapping, asking the kernel
// once per System.
func (s *System) VCPUMmapSize() (int, error) {
	s.mmapOnce.Do(func() {
		s.mmapSize, s.mmapErr = ioctlInt(s.fd, reqGetVCPUMmapSize, 0)
	})
	return s.mmapSize, s.mmapErr
}

// SupportedCPUID returns KVM_GET_SUPPORTED_CPUID: the CPUID leaves KVM can
// present to a guest.
func (s *System) SupportedCPUID() ([]CPUIDEntry2, error) {
	c := cpuidBufs.Get().(*cpuid2)
	defer cpuidBufs.Put(c)
	c.NEnt = MaxCPUIDEntries
	if _, err := ioctlPtr(s.fd, reqGetSupportedCPUID, cpuidPtr(c)); err != nil {
		return nil, err
	}
	n := min(int(c.NEnt), MaxCPUIDEntries)
	return append([]CPUIDEntry2(nil), c.Entries[:n]...), nil
}

// CreateVM creates a VM (KVM_CREATE_VM, machine type 0).
func (s *System) CreateVM() (*VM, error) {
	size, err := s.VCPUMmapSize()
	if err != nil {
		return nil, err
	}
	fd, err := ioctlInt(s.fd, reqCreateVM, 0)
	if err != nil {
		return nil, err
	}
	return &VM{fd: fd, sys: s, mmapSize: size}, nil
}

// VM is a KVM virtual machine. Its methods are safe for concurrent use, but
// the caller must not Close it while other methods run.
type VM struct {
	fd       int
	sys      *System
	mmapSize int
}

// FD returns the VM file descriptor. It stays owned by vm.
func (vm *VM) FD() int { return vm.fd }

// System returns the device vm was created from.
func (vm *VM) System() *System { return vm.sys }

// CheckExtension returns KVM_CHECK_EXTENSION for c on the VM fd.
func (vm *VM) CheckExtension(c Cap) (int, error) {
	return ioctlInt(vm.fd, reqCheckExtension, uintptr(c))
}

// SetUserMemoryRegion creates, changes or (with MemorySize 0) deletes a
// memslot. Guest memory passed to MapMemory must stay mapped while the slot
// exists.
func (vm *VM) SetUserMemoryRegion(r *UserspaceMemoryRegion) error {
	_, err := ioctlPtr(vm.fd, reqSetUserMemoryRegion, regionPtr(r))
	if err != nil {
		return fmt.Errorf("slot %d gpa %#x size %#x: %w", r.Slot, r.GuestPhysAddr, r.MemorySize, err)
	}
	return nil
}

// MapMemory installs mem as memslot slot at gpa with flags (MemReadonly …).
// mem must come from mmap (it must never move) and stay mapped until the slot
// is deleted or the VM is closed.
func (vm *VM) MapMemory(slot uint32, gpa uint64, mem []byte, flags uint32) error {
	return vm.SetUserMemoryRegion(&UserspaceMemoryRegion{
		Slot:          slot,
		Flags:         flags,
		GuestPhysAddr: gpa,
		MemorySize:    uint64(len(mem)),
		UserspaceAddr: sliceAddr(mem),
	})
}

// IOEventFD registers (or, with IOEventFDFlagDeassign, removes) an ioeventfd.
func (vm *VM) IOEventFD(e *IOEventFD) error {
	_, err := ioctlPtr(vm.fd, reqIOEventFD, ioeventfdPtr(e))
	return err
}

// CreateVCPU creates vCPU id and maps its kvm_run page.
func (vm *VM) CreateVCPU(id int) (*VCPU, error) {
	fd, err := ioctlInt(vm.fd, reqCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("vcpu %d: %w", id, err)
	}
	run, err := mapRun(fd, vm.mmapSize)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &VCPU{fd: fd, id: id, run: run}, nil
}

// Close closes the VM fd. The kernel frees the VM once its vCPUs are closed too.
func (vm *VM) Close() error {
	if vm.fd < 0 {
		return ErrClosed
	}
	err := unix.Close(vm.fd)
	vm.fd = -1
	return err
}

// VCPU is one virtual CPU. Run and the register methods must be called from
// the OS thread that runs the vCPU; RequestImmediateExit may be called from any
// thread.
type VCPU struct {
	fd    int
	id    int
	run   runPage
	keepP bool
}

// KeepP makes Run enter the guest without telling the Go scheduler that the
// goroutine is in a system call (unix.RawSyscall instead of unix.Syscall), so
// the goroutine keeps its P for the whole KVM_RUN. Otherwise the runtime's
// monitor thread takes the P back from every KVM_RUN longer than 20 µs and
// keeps waking every 20 µs while the guest runs: on the machines uaaf is
// developed on that cost a cold `uaaf run` of Solo5's hello about 2 %.
//
// The price: no other goroutine can use that P while the guest runs, except
// when the runtime preempts the vCPU goroutine (by a signal, after 10 ms,
// which KVM_RUN returns as EINTR and Run retries). Use it only for a vCPU
// that is all its process has to run, such as `uaaf run`'s. Call it before
// the vCPU's first Run.
func (v *VCPU) KeepP(on bool) { v.keepP = on }

// ID returns the vCPU id given to CreateVCPU.
func (v *VCPU) ID() int { return v.id }

// FD returns the vCPU file descriptor. It stays owned by v.
func (v *VCPU) FD() int { return v.fd }

// ErrInterrupted is returned by Run when KVM_RUN returned EINTR: a signal
// arrived or immediate_exit was set. The vCPU state is consistent and Run may
// be called again.
var ErrInterrupted = errors.New("kvm: KVM_RUN interrupted")

// Run enters the guest once (KVM_RUN) and returns when it exits to user space.
// The exit is then described by ExitReason and the exit accessors. EFAULT
// (for example a guest write to host-read-only memory on bare-metal KVM) is
// returned wrapped, testable with errors.Is(err, unix.EFAULT).
func (v *VCPU) Run() error {
	var e unix.Errno
	if v.keepP {
		_, _, e = unix.RawSyscall(unix.SYS_IOCTL, uintptr(v.fd), reqRun, 0)
	} else {
		_, _, e = unix.Syscall(unix.SYS_IOCTL, uintptr(v.fd), reqRun, 0)
	}
	switch e {
	case 0:
		return nil
	case unix.EINTR:
		return ErrInterrupted
	}
	return fmt.Errorf("KVM_RUN: %w", e)
}

// ExitReason returns why the last Run returned.
func (v *VCPU) ExitReason() ExitReason { return ExitReason(v.run.hdr.ExitReason) }

// IO returns the port I/O exit description; valid after an ExitIO.
func (v *VCPU) IO() *IOExit { return v.run.io() }

// IOData returns the data bytes of the current ExitIO exit (size*count bytes
// inside the kvm_run mapping), or nil if the kernel's offsets are out of range.
func (v *VCPU) IOData() []byte {
	io := v.run.io()
	n := uint64(io.Size) * uint64(io.Count)
	end := io.DataOffset + n
	if end < io.DataOffset || end > uint64(len(v.run.mem)) {
		return nil
	}
	return v.run.mem[io.DataOffset:end]
}

// MMIO returns the MMIO exit description; valid after an ExitMMIO.
func (v *VCPU) MMIO() *MMIOExit { return v.run.mmio() }

// FailEntry returns the entry-failure description; valid after ExitFailEntry.
func (v *VCPU) FailEntry() *FailEntryExit { return v.run.failEntry() }

// InternalError returns the internal-error description; valid after
// ExitInternalError.
func (v *VCPU) InternalError() *InternalErrorExit { return v.run.internal() }

// RequestImmediateExit sets kvm_run.immediate_exit, so that the current or
// next KVM_RUN returns ErrInterrupted without (re)entering the guest. Combine
// with a signal to the vCPU thread to interrupt a running guest. Safe from any
// thread.
func (v *VCPU) RequestImmediateExit() { v.run.setImmediateExit() }

// ClearImmediateExit undoes RequestImmediateExit.
func (v *VCPU) ClearImmediateExit() { v.run.clearImmediateExit() }

// GetRegs reads the general-purpose registers (KVM_GET_REGS).
func (v *VCPU) GetRegs() (Regs, error) {
	var r Regs
	_, err := ioctlPtr(v.fd, reqGetRegs, regsPtr(&r))
	return r, err
}

// SetRegs writes the general-purpose registers (KVM_SET_REGS).
func (v *VCPU) SetRegs(r *Regs) error {
	_, err := ioctlPtr(v.fd, reqSetRegs, regsPtr(r))
	return err
}

// GetSregs reads the special registers (KVM_GET_SREGS).
func (v *VCPU) GetSregs() (Sregs, error) {
	var s Sregs
	_, err := ioctlPtr(v.fd, reqGetSregs, sregsPtr(&s))
	return s, err
}

// SetSregs writes the special registers (KVM_SET_SREGS).
func (v *VCPU) SetSregs(s *Sregs) error {
	_, err := ioctlPtr(v.fd, reqSetSregs, sregsPtr(s))
	return err
}

// SetCPUID sets the CPUID leaves the guest sees (KVM_SET_CPUID2).
func (v *VCPU) SetCPUID(entries []CPUIDEntry2) error {
	if len(entries) > MaxCPUIDEntries {
		return fmt.Errorf("KVM_SET_CPUID2: %d entries, at most %d", len(entries), MaxCPUIDEntries)
	}
	c := cpuidBufs.Get().(*cpuid2)
	defer cpuidBufs.Put(c)
	c.NEnt = uint32(copy(c.Entries[:], entries))
	_, err := ioctlPtr(v.fd, reqSetCPUID2, cpuidPtr(c))
	return err
}

// cpuidBufs holds the 10 KiB kvm_cpuid2 buffers of SupportedCPUID and
// SetCPUID on the heap. As locals they would live on the caller's stack,
// and a goroutine that creates a vCPU and then runs a guest for a long
// time (a daemon session starting a library instance at its first call)
// would keep a stack grown to 32 KiB for its whole life: it sits in
// KVM_RUN, where the runtime cannot shrink it.
var cpuidBufs = sync.Pool{New: func() any { return new(cpuid2) }}

// TSCKHz returns the guest TSC frequency in kHz (KVM_GET_TSC_KHZ).
func (v *VCPU) TSCKHz() (uint64, error) {
	r, err := ioctlInt(v.fd, reqGetTSCKHz, 0)
	if err != nil {
		return 0, err
	}
	return uint64(r), nil
}

// Close unmaps kvm_run and closes the vCPU fd. Call it on the vCPU's thread
// after the last Run has returned.
func (v *VCPU) Close() error {
	if v.fd < 0 {
		return ErrClosed
	}
	err := v.run.unmap()
	if cerr := unix.Close(v.fd); err == nil {
		err = cerr
	}
	v.fd = -1
	return err
}

// Available reports whether a KVM device can be opened at path, and if not,
// why. It is what tests and `uaaf probe` use to decide.
func Available(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: %w", ErrNoKVM, err)
	}
	s, err := Open(path)
	if err != nil {
		return err
	}
	return s.Close()
}
