package kvm

import (
	"fmt"

	"github.com/uaaf/uaaf/hypervisor/internal/ioctl"
)

// ioctl request encoding, as in the kernel's asm-generic/ioctl.h.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30

	kvmIO = 0xAE
)

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<iocDirShift | kvmIO<<iocTypeShift | nr<<iocNRShift | size<<iocSizeShift
}

func io(nr uintptr) uintptr         { return ioc(iocNone, nr, 0) }
func ior(nr, size uintptr) uintptr  { return ioc(iocRead, nr, size) }
func iow(nr, size uintptr) uintptr  { return ioc(iocWrite, nr, size) }
func iowr(nr, size uintptr) uintptr { return ioc(iocRead|iocWrite, nr, size) }

// The KVM ioctl requests uaaf issues. Sizes come from the mirrored structs in
// types_amd64.go; layout_test.go checks every value against <linux/kvm.h>.
var (
	reqGetAPIVersion       = io(0x00)
	reqCreateVM            = io(0x01)
	reqCheckExtension      = io(0x03)
	reqGetVCPUMmapSize     = io(0x04)
	reqGetSupportedCPUID   = iowr(0x05, sizeofCPUID2Header)
	reqCreateVCPU          = io(0x41)
	reqSetUserMemoryRegion = iow(0x46, SizeofUserspaceMemoryRegion)
	reqIOEventFD           = iow(0x79, SizeofIOEventFD)
	reqRun                 = io(0x80)
	reqGetRegs             = ior(0x81, SizeofRegs)
	reqSetRegs             = iow(0x82, SizeofRegs)
	reqGetSregs            = ior(0x83, SizeofSregs)
	reqSetSregs            = iow(0x84, SizeofSregs)
	reqSetCPUID2           = iow(0x90, sizeofCPUID2Header)
	reqGetTSCKHz           = io(0xa3)
)

// ioctlName names a request for error messages.
func ioctlName(req uintptr) string {
	switch req {
	case reqGetAPIVersion:
		return "KVM_GET_API_VERSION"
	case reqCreateVM:
		return "KVM_CREATE_VM"
	case reqCheckExtension:
		return "KVM_CHECK_EXTENSION"
	case reqGetVCPUMmapSize:
		return "KVM_GET_VCPU_MMAP_SIZE"
	case reqGetSupportedCPUID:
		return "KVM_GET_SUPPORTED_CPUID"
	case reqCreateVCPU:
		return "KVM_CREATE_VCPU"
	case reqSetUserMemoryRegion:
		return "KVM_SET_USER_MEMORY_REGION"
	case reqIOEventFD:
		return "KVM_IOEVENTFD"
	case reqRun:
		return "KVM_RUN"
	case reqGetRegs:
		return "KVM_GET_REGS"
	case reqSetRegs:
		return "KVM_SET_REGS"
	case reqGetSregs:
		return "KVM_GET_SREGS"
	case reqSetSregs:
		return "KVM_SET_SREGS"
	case reqSetCPUID2:
		return "KVM_SET_CPUID2"
	case reqGetTSCKHz:
		return "KVM_GET_TSC_KHZ"
	}
	return fmt.Sprintf("ioctl(%#x)", req)
}

// ioctlInt issues an ioctl whose argument is an integer, retrying on EINTR, and
// returns the ioctl's non-negative result; errors name the request.
func ioctlInt(fd int, req, arg uintptr) (int, error) {
	r, err := ioctl.Int(fd, req, arg)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", ioctlName(req), err)
	}
	return r, nil
}
