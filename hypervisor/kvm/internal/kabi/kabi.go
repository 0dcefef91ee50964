// Package kabi exposes, through cgo, the values that <linux/kvm.h> defines, so
// that package kvm's tests can prove its hand-written mirrors equal the
// kernel's. It is used only by tests and needs a C compiler and the kernel's
// UAPI headers (Debian: linux-libc-dev).
package kabi

/*
#include <stddef.h>
#include <linux/kvm.h>

enum {
	offsetof_run_immediate_exit = offsetof(struct kvm_run, immediate_exit),
	offsetof_run_exit_reason = offsetof(struct kvm_run, exit_reason),
	offsetof_run_cr8 = offsetof(struct kvm_run, cr8),
	offsetof_run_io = offsetof(struct kvm_run, io),
	offsetof_run_io_size = offsetof(struct kvm_run, io.size),
	offsetof_run_io_port = offsetof(struct kvm_run, io.port),
	offsetof_run_io_count = offsetof(struct kvm_run, io.count),
	offsetof_run_io_data_offset = offsetof(struct kvm_run, io.data_offset),
	offsetof_run_mmio_data = offsetof(struct kvm_run, mmio.data),
	offsetof_run_mmio_len = offsetof(struct kvm_run, mmio.len),
	offsetof_run_mmio_is_write = offsetof(struct kvm_run, mmio.is_write),
	offsetof_run_fail_reason = offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason),
	offsetof_run_internal_suberror = offsetof(struct kvm_run, internal.suberror),
	offsetof_run_internal_data = offsetof(struct kvm_run, internal.data),
	offsetof_regs_rip = offsetof(struct kvm_regs, rip),
	offsetof_regs_rflags = offsetof(struct kvm_regs, rflags),
	offsetof_segment_selector = offsetof(struct kvm_segment, selector),
	offsetof_segment_unusable = offsetof(struct kvm_segment, unusable),
	offsetof_sregs_tr = offsetof(struct kvm_sregs, tr),
	offsetof_sregs_gdt = offsetof(struct kvm_sregs, gdt),
	offsetof_sregs_cr0 = offsetof(struct kvm_sregs, cr0),
	offsetof_sregs_efer = offsetof(struct kvm_sregs, efer),
	offsetof_sregs_interrupt_bitmap = offsetof(struct kvm_sregs, interrupt_bitmap),
	offsetof_ioeventfd_fd = offsetof(struct kvm_ioeventfd, fd),
	offsetof_ioeventfd_flags = offsetof(struct kvm_ioeventfd, flags),
	offsetof_region_userspace_addr = offsetof(struct kvm_userspace_memory_region, userspace_addr),
	offsetof_cpuid_entry2_edx = offsetof(struct kvm_cpuid_entry2, edx),
};
*/
import "C"

// Ioctl request numbers from <linux/kvm.h>.
var Ioctls = map[string]uintptr{
	"KVM_GET_API_VERSION":        C.KVM_GET_API_VERSION,
	"KVM_CREATE_VM":              C.KVM_CREATE_VM,
	"KVM_CHECK_EXTENSION":        C.KVM_CHECK_EXTENSION,
	"KVM_GET_VCPU_MMAP_SIZE":     C.KVM_GET_VCPU_MMAP_SIZE,
	"KVM_GET_SUPPORTED_CPUID":    C.KVM_GET_SUPPORTED_CPUID,
	"KVM_CREATE_VCPU":            C.KVM_CREATE_VCPU,
	"KVM_SET_USER_MEMORY_REGION": C.KVM_SET_USER_MEMORY_REGION,
	"KVM_IOEVENTFD":              C.KVM_IOEVENTFD,
	"KVM_RUN":                    C.KVM_RUN,
	"KVM_GET_REGS":               C.KVM_GET_REGS,
	"KVM_SET_REGS":               C.KVM_SET_REGS,
	"KVM_GET_SREGS":              C.KVM_GET_SREGS,
	"KVM_SET_SREGS":              C.KVM_SET_SREGS,
	"KVM_SET_CPUID2":             C.KVM_SET_CPUID2,
	"KVM_GET_TSC_KHZ":            C.KVM_GET_TSC_KHZ,
}

// Sizes of kernel structs, in bytes.
var Sizes = map[string]uintptr{
	"kvm_regs":                    C.sizeof_struct_kvm_regs,
	"kvm_segment":                 C.sizeof_struct_kvm_segment,
	"kvm_dtable":                  C.sizeof_struct_kvm_dtable,
	"kvm_sregs":                   C.sizeof_struct_kvm_sregs,
	"kvm_userspace_memory_region": C.sizeof_struct_kvm_userspace_memory_region,
	"kvm_cpuid_entry2":            C.sizeof_struct_kvm_cpuid_entry2,
	"kvm_cpuid2":                  C.sizeof_struct_kvm_cpuid2,
	"kvm_ioeventfd":               C.sizeof_struct_kvm_ioeventfd,
}

// Offsets of struct fields, keyed "struct.field".
var Offsets = map[string]uintptr{
	"kvm_run.immediate_exit": C.offsetof_run_immediate_exit,
	"kvm_run.exit_reason":    C.offsetof_run_exit_reason,
	"kvm_run.cr8":            C.offsetof_run_cr8,
	"kvm_run.io":             C.offsetof_run_io,
	"kvm_run.io.size":        C.offsetof_run_io_size,
	"kvm_run.io.port":        C.offsetof_run_io_port,
	"kvm_run.io.count":       C.offsetof_run_io_count,
	"kvm_run.io.data_offset": C.offsetof_run_io_data_offset,
	"kvm_run.mmio.data":      C.offsetof_run_mmio_data,
	"kvm_run.mmio.len":       C.offsetof_run_mmio_len,
	"kvm_run.mmio.is_write":  C.offsetof_run_mmio_is_write,
	"kvm_run.fail_entry.hardware_entry_failure_reason": C.offsetof_run_fail_reason,
	"kvm_run.internal.suberror":                        C.offsetof_run_internal_suberror,
	"kvm_run.internal.data":                            C.offsetof_run_internal_data,
	"kvm_regs.rip":                                     C.offsetof_regs_rip,
	"kvm_regs.rflags":                                  C.offsetof_regs_rflags,
	"kvm_segment.selector":                             C.offsetof_segment_selector,
	"kvm_segment.unusable":                             C.offsetof_segment_unusable,
	"kvm_sregs.tr":                                     C.offsetof_sregs_tr,
	"kvm_sregs.gdt":                                    C.offsetof_sregs_gdt,
	"kvm_sregs.cr0":                                    C.offsetof_sregs_cr0,
	"kvm_sregs.efer":                                   C.offsetof_sregs_efer,
	"kvm_sregs.interrupt_bitmap":                       C.offsetof_sregs_interrupt_bitmap,
	"kvm_ioeventfd.fd":                                 C.offsetof_ioeventfd_fd,
	"kvm_ioeventfd.flags":                              C.offsetof_ioeventfd_flags,
	"kvm_userspace_memory_region.userspace_addr":       C.offsetof_region_userspace_addr,
	"kvm_cpuid_entry2.edx":                             C.offsetof_cpuid_entry2_edx,
}

// Constants (capabilities, exit reasons, flags).
var Consts = map[string]uintptr{
	"KVM_API_VERSION":              C.KVM_API_VERSION,
	"KVM_CAP_USER_MEMORY":          C.KVM_CAP_USER_MEMORY,
	"KVM_CAP_NR_MEMSLOTS":          C.KVM_CAP_NR_MEMSLOTS,
	"KVM_CAP_IOEVENTFD":            C.KVM_CAP_IOEVENTFD,
	"KVM_CAP_GET_TSC_KHZ":          C.KVM_CAP_GET_TSC_KHZ,
	"KVM_CAP_SYNC_REGS":            C.KVM_CAP_SYNC_REGS,
	"KVM_CAP_READONLY_MEM":         C.KVM_CAP_READONLY_MEM,
	"KVM_CAP_IMMEDIATE_EXIT":       C.KVM_CAP_IMMEDIATE_EXIT,
	"KVM_CAP_COALESCED_PIO":        C.KVM_CAP_COALESCED_PIO,
	"KVM_EXIT_IO":                  C.KVM_EXIT_IO,
	"KVM_EXIT_MMIO":                C.KVM_EXIT_MMIO,
	"KVM_EXIT_SHUTDOWN":            C.KVM_EXIT_SHUTDOWN,
	"KVM_EXIT_FAIL_ENTRY":          C.KVM_EXIT_FAIL_ENTRY,
	"KVM_EXIT_INTERNAL_ERROR":      C.KVM_EXIT_INTERNAL_ERROR,
	"KVM_EXIT_SYSTEM_EVENT":        C.KVM_EXIT_SYSTEM_EVENT,
	"KVM_MEM_READONLY":             C.KVM_MEM_READONLY,
	"KVM_IOEVENTFD_FLAG_PIO":       C.KVM_IOEVENTFD_FLAG_PIO,
	"KVM_IOEVENTFD_FLAG_DATAMATCH": C.KVM_IOEVENTFD_FLAG_DATAMATCH,
}
