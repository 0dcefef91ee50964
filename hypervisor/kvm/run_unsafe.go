package kvm

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runHeader has the layout of the fixed head of C struct kvm_run, through the
// start of the exit union at offset 32.
type runHeader struct {
	RequestInterruptWindow     uint8
	ImmediateExit              uint8
	_                          [6]uint8
	ExitReason                 uint32
	ReadyForInterruptInjection uint8
	IFFlag                     uint8
	Flags                      uint16
	CR8                        uint64
	APICBase                   uint64
	exit                       [256]byte
}

// Offset of the exit union in struct kvm_run.
const runExitOffset = 32

// runPage is a vCPU's shared struct kvm_run mapping.
type runPage struct {
	mem []byte     // the whole mapping (KVM_GET_VCPU_MMAP_SIZE bytes)
	hdr *runHeader // mem viewed as struct kvm_run
}

func mapRun(fd, size int) (runPage, error) {
	if size < int(unsafe.Sizeof(runHeader{})) {
		return runPage{}, fmt.Errorf("kvm: vCPU mmap size %d too small", size)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return runPage{}, fmt.Errorf("kvm: mmap kvm_run: %w", err)
	}
	return runPage{mem: mem, hdr: (*runHeader)(unsafe.Pointer(&mem[0]))}, nil
}

func (r *runPage) unmap() error {
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem, r.hdr = nil, nil
	return err
}

// word0 is the first 32-bit word of kvm_run, holding request_interrupt_window
// (byte 0) and immediate_exit (byte 1), so they can be changed atomically
// from another thread.
func (r *runPage) word0() *uint32 { return (*uint32)(unsafe.Pointer(r.hdr)) }

func (r *runPage) setImmediateExit() { atomic.OrUint32(r.word0(), 1<<8) }

func (r *runPage) clearImmediateExit() { atomic.AndUint32(r.word0(), ^uint32(0xff<<8)) }

func (r *runPage) io() *IOExit { return (*IOExit)(unsafe.Pointer(&r.hdr.exit[0])) }

func (r *runPage) mmio() *MMIOExit { return (*MMIOExit)(unsafe.Pointer(&r.hdr.exit[0])) }

func (r *runPage) failEntry() *FailEntryExit {
	return (*FailEntryExit)(unsafe.Pointer(&r.hdr.exit[0]))
}

func (r *runPage) internal() *InternalErrorExit {
	return (*InternalErrorExit)(unsafe.Pointer(&r.hdr.exit[0]))
}

// regsPtr and friends give ioctlPtr its argument.
func regsPtr(r *Regs) unsafe.Pointer                    { return unsafe.Pointer(r) }
func sregsPtr(s *Sregs) unsafe.Pointer                  { return unsafe.Pointer(s) }
func regionPtr(r *UserspaceMemoryRegion) unsafe.Pointer { return unsafe.Pointer(r) }
func ioeventfdPtr(e *IOEventFD) unsafe.Pointer          { return unsafe.Pointer(e) }
func cpuidPtr(c *cpuid2) unsafe.Pointer                 { return unsafe.Pointer(c) }

// sliceAddr returns the host address of b's first byte, for
// KVM_SET_USER_MEMORY_REGION. b must be a mapping that is not moved by the Go
// runtime (an mmap result), never a Go heap slice.
func sliceAddr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
