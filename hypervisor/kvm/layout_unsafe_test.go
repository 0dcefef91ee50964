package kvm

import (
	"testing"
	"unsafe"

	"github.com/uaaf/uaaf/hypervisor/kvm/internal/kabi"
)

// TestLayoutMatchesKernel proves that every struct, offset, ioctl number and
// constant mirrored by hand in this package equals the kernel header's.
func TestLayoutMatchesKernel(t *testing.T) {
	var run runHeader
	var rp runPage
	rp.hdr = &run
	base := uintptr(unsafe.Pointer(&run))
	exitOff := func(p unsafe.Pointer) uintptr { return uintptr(p) - base }
	io, mmio, fail, internal := rp.io(), rp.mmio(), rp.failEntry(), rp.internal()
	var regs Regs
	var seg Segment
	var sregs Sregs
	var ioe IOEventFD
	var region UserspaceMemoryRegion
	var ent CPUIDEntry2

	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof kvm_regs", unsafe.Sizeof(Regs{}), kabi.Sizes["kvm_regs"]},
		{"sizeof kvm_segment", unsafe.Sizeof(Segment{}), kabi.Sizes["kvm_segment"]},
		{"sizeof kvm_dtable", unsafe.Sizeof(DTable{}), kabi.Sizes["kvm_dtable"]},
		{"sizeof kvm_sregs", unsafe.Sizeof(Sregs{}), kabi.Sizes["kvm_sregs"]},
		{"sizeof kvm_userspace_memory_region", unsafe.Sizeof(UserspaceMemoryRegion{}), kabi.Sizes["kvm_userspace_memory_region"]},
		{"sizeof kvm_cpuid_entry2", unsafe.Sizeof(CPUIDEntry2{}), kabi.Sizes["kvm_cpuid_entry2"]},
		{"sizeof kvm_cpuid2 header", sizeofCPUID2Header, kabi.Sizes["kvm_cpuid2"]},
		{"sizeof kvm_ioeventfd", unsafe.Sizeof(IOEventFD{}), kabi.Sizes["kvm_ioeventfd"]},
		{"Sizeof constants: regs", SizeofRegs, kabi.Sizes["kvm_regs"]},
		{"Sizeof constants: sregs", SizeofSregs, kabi.Sizes["kvm_sregs"]},
		{"Sizeof constants: segment", SizeofSegment, kabi.Sizes["kvm_segment"]},
		{"Sizeof constants: dtable", SizeofDTable, kabi.Sizes["kvm_dtable"]},
		{"Sizeof constants: region", SizeofUserspaceMemoryRegion, kabi.Sizes["kvm_userspace_memory_region"]},
		{"Sizeof constants: cpuid_entry2", SizeofCPUIDEntry2, kabi.Sizes["kvm_cpuid_entry2"]},
		{"Sizeof constants: ioeventfd", SizeofIOEventFD, kabi.Sizes["kvm_ioeventfd"]},
		{"cpuid2 entries offset", unsafe.Offsetof(cpuid2{}.Entries), kabi.Sizes["kvm_cpuid2"]},

		{"kvm_run.immediate_exit", unsafe.Offsetof(run.ImmediateExit), kabi.Offsets["kvm_run.immediate_exit"]},
		{"kvm_run.exit_reason", unsafe.Offsetof(run.ExitReason), kabi.Offsets["kvm_run.exit_reason"]},
		{"kvm_run.cr8", unsafe.Offsetof(run.CR8), kabi.Offsets["kvm_run.cr8"]},
		{"kvm_run exit union", runExitOffset, kabi.Offsets["kvm_run.io"]},
		{"kvm_run.io", exitOff(unsafe.Pointer(io)), kabi.Offsets["kvm_run.io"]},
		{"kvm_run.io.size", exitOff(unsafe.Pointer(&io.Size)), kabi.Offsets["kvm_run.io.size"]},
		{"kvm_run.io.port", exitOff(unsafe.Pointer(&io.Port)), kabi.Offsets["kvm_run.io.port"]},
		{"kvm_run.io.count", exitOff(unsafe.Pointer(&io.Count)), kabi.Offsets["kvm_run.io.count"]},
		{"kvm_run.io.data_offset", exitOff(unsafe.Pointer(&io.DataOffset)), kabi.Offsets["kvm_run.io.data_offset"]},
		{"kvm_run.mmio.data", exitOff(unsafe.Pointer(&mmio.Data)), kabi.Offsets["kvm_run.mmio.data"]},
		{"kvm_run.mmio.len", exitOff(unsafe.Pointer(&mmio.Len)), kabi.Offsets["kvm_run.mmio.len"]},
		{"kvm_run.mmio.is_write", exitOff(unsafe.Pointer(&mmio.IsWrite)), kabi.Offsets["kvm_run.mmio.is_write"]},
		{"kvm_run.fail_entry.reason", exitOff(unsafe.Pointer(&fail.HardwareEntryFailureReason)), kabi.Offsets["kvm_run.fail_entry.hardware_entry_failure_reason"]},
		{"kvm_run.internal.suberror", exitOff(unsafe.Pointer(&internal.Suberror)), kabi.Offsets["kvm_run.internal.suberror"]},
		{"kvm_run.internal.data", exitOff(unsafe.Pointer(&internal.Data)), kabi.Offsets["kvm_run.internal.data"]},
		{"kvm_regs.rip", unsafe.Offsetof(regs.RIP), kabi.Offsets["kvm_regs.rip"]},
		{"kvm_regs.rflags", unsafe.Offsetof(regs.RFLAGS), kabi.Offsets["kvm_regs.rflags"]},
		{"kvm_segment.selector", unsafe.Offsetof(seg.Selector), kabi.Offsets["kvm_segment.selector"]},
		{"kvm_segment.unusable", unsafe.Offsetof(seg.Unusable), kabi.Offsets["kvm_segment.unusable"]},
		{"kvm_sregs.tr", unsafe.Offsetof(sregs.TR), kabi.Offsets["kvm_sregs.tr"]},
		{"kvm_sregs.gdt", unsafe.Offsetof(sregs.GDT), kabi.Offsets["kvm_sregs.gdt"]},
		{"kvm_sregs.cr0", unsafe.Offsetof(sregs.CR0), kabi.Offsets["kvm_sregs.cr0"]},
		{"kvm_sregs.efer", unsafe.Offsetof(sregs.EFER), kabi.Offsets["kvm_sregs.efer"]},
		{"kvm_sregs.interrupt_bitmap", unsafe.Offsetof(sregs.InterruptBitmap), kabi.Offsets["kvm_sregs.interrupt_bitmap"]},
		{"kvm_ioeventfd.fd", unsafe.Offsetof(ioe.FD), kabi.Offsets["kvm_ioeventfd.fd"]},
		{"kvm_ioeventfd.flags", unsafe.Offsetof(ioe.Flags), kabi.Offsets["kvm_ioeventfd.flags"]},
		{"kvm_userspace_memory_region.userspace_addr", unsafe.Offsetof(region.UserspaceAddr), kabi.Offsets["kvm_userspace_memory_region.userspace_addr"]},
		{"kvm_cpuid_entry2.edx", unsafe.Offsetof(ent.EDX), kabi.Offsets["kvm_cpuid_entry2.edx"]},

		{"KVM_GET_API_VERSION", reqGetAPIVersion, kabi.Ioctls["KVM_GET_API_VERSION"]},
		{"KVM_CREATE_VM", reqCreateVM, kabi.Ioctls["KVM_CREATE_VM"]},
		{"KVM_CHECK_EXTENSION", reqCheckExtension, kabi.Ioctls["KVM_CHECK_EXTENSION"]},
		{"KVM_GET_VCPU_MMAP_SIZE", reqGetVCPUMmapSize, kabi.Ioctls["KVM_GET_VCPU_MMAP_SIZE"]},
		{"KVM_GET_SUPPORTED_CPUID", reqGetSupportedCPUID, kabi.Ioctls["KVM_GET_SUPPORTED_CPUID"]},
		{"KVM_CREATE_VCPU", reqCreateVCPU, kabi.Ioctls["KVM_CREATE_VCPU"]},
		{"KVM_SET_USER_MEMORY_REGION", reqSetUserMemoryRegion, kabi.Ioctls["KVM_SET_USER_MEMORY_REGION"]},
		{"KVM_IOEVENTFD", reqIOEventFD, kabi.Ioctls["KVM_IOEVENTFD"]},
		{"KVM_RUN", reqRun, kabi.Ioctls["KVM_RUN"]},
		{"KVM_GET_REGS", reqGetRegs, kabi.Ioctls["KVM_GET_REGS"]},
		{"KVM_SET_REGS", reqSetRegs, kabi.Ioctls["KVM_SET_REGS"]},
		{"KVM_GET_SREGS", reqGetSregs, kabi.Ioctls["KVM_GET_SREGS"]},
		{"KVM_SET_SREGS", reqSetSregs, kabi.Ioctls["KVM_SET_SREGS"]},
		{"KVM_SET_CPUID2", reqSetCPUID2, kabi.Ioctls["KVM_SET_CPUID2"]},
		{"KVM_GET_TSC_KHZ", reqGetTSCKHz, kabi.Ioctls["KVM_GET_TSC_KHZ"]},

		{"KVM_API_VERSION", APIVersion, kabi.Consts["KVM_API_VERSION"]},
		{"KVM_CAP_USER_MEMORY", uintptr(CapUserMemory), kabi.Consts["KVM_CAP_USER_MEMORY"]},
		{"KVM_CAP_NR_MEMSLOTS", uintptr(CapNrMemslots), kabi.Consts["KVM_CAP_NR_MEMSLOTS"]},
		{"KVM_CAP_IOEVENTFD", uintptr(CapIOEventFD), kabi.Consts["KVM_CAP_IOEVENTFD"]},
		{"KVM_CAP_GET_TSC_KHZ", uintptr(CapGetTSCKHz), kabi.Consts["KVM_CAP_GET_TSC_KHZ"]},
		{"KVM_CAP_SYNC_REGS", uintptr(CapSyncRegs), kabi.Consts["KVM_CAP_SYNC_REGS"]},
		{"KVM_CAP_READONLY_MEM", uintptr(CapReadonlyMem), kabi.Consts["KVM_CAP_READONLY_MEM"]},
		{"KVM_CAP_IMMEDIATE_EXIT", uintptr(CapImmediateExit), kabi.Consts["KVM_CAP_IMMEDIATE_EXIT"]},
		{"KVM_CAP_COALESCED_PIO", uintptr(CapCoalescedPIO), kabi.Consts["KVM_CAP_COALESCED_PIO"]},
		{"KVM_EXIT_IO", uintptr(ExitIO), kabi.Consts["KVM_EXIT_IO"]},
		{"KVM_EXIT_MMIO", uintptr(ExitMMIO), kabi.Consts["KVM_EXIT_MMIO"]},
		{"KVM_EXIT_SHUTDOWN", uintptr(ExitShutdown), kabi.Consts["KVM_EXIT_SHUTDOWN"]},
		{"KVM_EXIT_FAIL_ENTRY", uintptr(ExitFailEntry), kabi.Consts["KVM_EXIT_FAIL_ENTRY"]},
		{"KVM_EXIT_INTERNAL_ERROR", uintptr(ExitInternalError), kabi.Consts["KVM_EXIT_INTERNAL_ERROR"]},
		{"KVM_EXIT_SYSTEM_EVENT", uintptr(ExitSystemEvent), kabi.Consts["KVM_EXIT_SYSTEM_EVENT"]},
		{"KVM_MEM_READONLY", MemReadonly, kabi.Consts["KVM_MEM_READONLY"]},
		{"KVM_IOEVENTFD_FLAG_PIO", IOEventFDFlagPIO, kabi.Consts["KVM_IOEVENTFD_FLAG_PIO"]},
		{"KVM_IOEVENTFD_FLAG_DATAMATCH", IOEventFDFlagDatamatch, kabi.Consts["KVM_IOEVENTFD_FLAG_DATAMATCH"]},
	}
	for _, tt := range tests {
		if tt.want == 0 && tt.name != "kvm_run.immediate_exit" {
			t.Errorf("%s: header value missing from kabi tables", tt.name)
			continue
		}
		if tt.got != tt.want {
			t.Errorf("%s = %#x, kernel header says %#x", tt.name, tt.got, tt.want)
		}
	}
}
