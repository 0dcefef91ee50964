/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uaaf_uapi.h - ioctl ABI of the uaaf companion module (/dev/uaaf).
 *
 * This header is the single source of truth for the ABI. It is included by
 * the module, by userspace C, and by the cgo layout check of the Go mirror
 * (hypervisor/vmfunc/uapi.go). Every struct uses fixed-width types and
 * explicit padding so that its layout is the same for every compiler; the
 * static assertions at the end pin the sizes. Any change to a struct or a
 * number must bump UAAF_API_VERSION and update the Go mirror.
 *
 * Flow: open /dev/uaaf -> UAAF_IOC_VERSION / UAAF_IOC_CAPS -> UAAF_IOC_ATTACH
 * {KVM VM fd, vCPU id} -> UAAF_IOC_DEFINE_VIEW for index 0 (the session
 * view, mandatory) and each library index 1..511 -> UAAF_IOC_ENABLE -> run
 * the vCPU -> UAAF_IOC_STATUS after a shutdown exit -> UAAF_IOC_DETACH or
 * close().
 *
 * Version 2 (incompatible with 1): struct uaaf_range gained src_gpa (a view
 * GPA may be backed by a different KVM GPA), index 0 is a module-built view
 * like the others, and DEFINE_VIEW moved to ioctl nr 0x07 so that a version-1
 * caller gets -ENOTTY instead of having its ranges misread.
 */
#ifndef _UAPI_UAAF_H
#define _UAPI_UAAF_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Version of this ABI; reported by UAAF_IOC_VERSION. */
#define UAAF_API_VERSION	2

/* ioctl type byte; not listed in ioctl-number.rst, chosen to avoid 'u'. */
#define UAAF_IOC_MAGIC		0xB7

/* EPTP-list geometry (Intel SDM: one 4 KiB page of 512 EPTPs). */
#define UAAF_EPTP_ENTRIES	512
#define UAAF_VIEW_SESSION	0	/* slot 0: the session's view, built by the module */
#define UAAF_VIEW_MIN		1	/* first library view */
#define UAAF_VIEW_MAX		511	/* last library view */
/* Upper bound on ranges in one UAAF_IOC_DEFINE_VIEW call. */
#define UAAF_MAX_RANGES		256

/* struct uaaf_range.perms: EPT leaf permissions of the range. */
#define UAAF_PERM_R		(1u << 0)
#define UAAF_PERM_W		(1u << 1)
#define UAAF_PERM_X		(1u << 2)
#define UAAF_PERM_MASK		(UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X)

/* struct uaaf_caps.flags: what the host CPU offers. */
#define UAAF_CAP_VMX		(1ull << 0) /* CPUID.1:ECX.VMX */
#define UAAF_CAP_EPT		(1ull << 1) /* secondary control "enable EPT" */
#define UAAF_CAP_VMFUNC		(1ull << 2) /* secondary control "enable VM functions" */
#define UAAF_CAP_EPTP_SWITCHING	(1ull << 3) /* IA32_VMX_VMFUNC bit 0 */
#define UAAF_CAP_EPT_4LEVEL	(1ull << 4) /* EPT page-walk length 4 */
#define UAAF_CAP_EPT_WB		(1ull << 5) /* EPT paging-structure memory type WB */
#define UAAF_CAP_INVEPT_SINGLE	(1ull << 6) /* INVEPT single-context */
#define UAAF_CAP_EPT_EXEC_ONLY	(1ull << 7) /* execute-only EPT leaves */
/* All of the above except EXEC_ONLY: the module can enable views. */
#define UAAF_CAP_USABLE		(1ull << 63)

/* struct uaaf_caps.reason: why UAAF_CAP_USABLE is absent. */
#define UAAF_REASON_NONE		0
#define UAAF_REASON_NO_VMX		1 /* not Intel VT-x (AMD, PVM, no VMX flag) */
#define UAAF_REASON_MSR_FAULT		2 /* a VMX capability MSR could not be read */
#define UAAF_REASON_NO_SECONDARY	3 /* no secondary processor-based controls */
#define UAAF_REASON_NO_EPT		4
#define UAAF_REASON_NO_VMFUNC		5
#define UAAF_REASON_NO_EPTP_SWITCHING	6
#define UAAF_REASON_NO_EPT_4LEVEL	7
#define UAAF_REASON_NO_EPT_WB		8
#define UAAF_REASON_NO_INVEPT		9
#define UAAF_REASON_KVM_ENTRY_ABI	10 /* kvm_entry tracepoint could not be hooked */

#define UAAF_REASON_LEN		64

/* UAAF_IOC_VERSION result. */
struct uaaf_version {
	__u32 api_version;	/* UAAF_API_VERSION of the module */
	__u32 reserved;		/* zero */
};

/* UAAF_IOC_CAPS result; raw MSR values are zero when unreadable. */
struct uaaf_caps {
	__u64 flags;			/* UAAF_CAP_* */
	__u64 msr_procbased_ctls2;	/* IA32_VMX_PROCBASED_CTLS2 (0x48b) */
	__u64 msr_ept_vpid_cap;		/* IA32_VMX_EPT_VPID_CAP (0x48c) */
	__u64 msr_vmfunc;		/* IA32_VMX_VMFUNC (0x491) */
	__u32 reason;			/* UAAF_REASON_* */
	__u32 reserved;			/* zero */
	char reason_str[UAAF_REASON_LEN]; /* NUL-terminated, "" when usable */
};

/* UAAF_IOC_ATTACH argument. */
struct uaaf_attach {
	__s32 vm_fd;		/* fd from KVM_CREATE_VM, same process */
	__u32 vcpu_id;		/* id given to KVM_CREATE_VCPU */
};

/*
 * One range of a view: the view maps guest-physical [gpa, gpa + size) to the
 * pages that back KVM guest-physical [src_gpa, src_gpa + size), page by page
 * (view GPA gpa + off -> HPA of KVM GPA src_gpa + off). src_gpa == gpa is an
 * identity range. The source range must lie inside one user memslot whose
 * permissions include perms (a read-only memslot never becomes writable).
 * Within one view the [gpa, +size) ranges must not overlap, and neither may
 * the [src_gpa, +size) ranges (no page is mapped twice in one view).
 */
struct uaaf_range {
	__u64 gpa;		/* view GPA, 4 KiB aligned, gpa + size <= 2^48 */
	__u64 src_gpa;		/* KVM (memslot) GPA of the backing, 4 KiB aligned */
	__u64 size;		/* 4 KiB multiple, > 0 */
	__u32 perms;		/* UAAF_PERM_*, subset of the memslot's */
	__u32 reserved;		/* zero */
};

/* UAAF_IOC_DEFINE_VIEW argument. */
struct uaaf_view {
	__u32 index;		/* UAAF_VIEW_SESSION (0) or UAAF_VIEW_MIN..UAAF_VIEW_MAX */
	__u32 nr_ranges;	/* 1..UAAF_MAX_RANGES */
	__u64 ranges;		/* user pointer to struct uaaf_range[nr_ranges] */
};

/* struct uaaf_status.state */
#define UAAF_STATE_DETACHED	0
#define UAAF_STATE_ATTACHED	1	/* attached, views may be defined */
#define UAAF_STATE_ENABLED	2	/* EPTP list installed on next entry */
#define UAAF_STATE_FAULTED	3	/* a view fault occurred; VM shut down */

/* Sentinel for uaaf_status.fault_view: the faulting EPTP was an unused slot. */
#define UAAF_VIEW_UNUSED	0xffffffffu

/* UAAF_IOC_STATUS result. */
struct uaaf_status {
	__u32 state;		/* UAAF_STATE_* */
	__u32 active_view;	/* view the vCPU was in at its last exit */
	__u32 nr_views;		/* views defined */
	__u32 fault_view;	/* view index of the last fault, or UAAF_VIEW_UNUSED */
	__u32 fault_exit_reason; /* basic VM-exit reason of the fatal exit (e.g. 48 EPT violation) */
	__u32 reserved;		/* zero */
	__u64 fault_gpa;	/* guest-physical address of the fault */
	__u64 fault_qualification; /* exit qualification of the fault */
	__u64 entries;		/* VM entries seen while enabled */
	__u64 exits;		/* VM exits seen while enabled */
};

#define UAAF_IOC_VERSION	_IOR(UAAF_IOC_MAGIC, 0x00, struct uaaf_version)
#define UAAF_IOC_CAPS		_IOR(UAAF_IOC_MAGIC, 0x01, struct uaaf_caps)
#define UAAF_IOC_ATTACH		_IOW(UAAF_IOC_MAGIC, 0x02, struct uaaf_attach)
/* nr 0x03 was DEFINE_VIEW of version 1 (24-byte ranges); retired. */
#define UAAF_IOC_DEFINE_VIEW	_IOW(UAAF_IOC_MAGIC, 0x07, struct uaaf_view)
/* -ENOENT until view 0 (UAAF_VIEW_SESSION) is defined. */
#define UAAF_IOC_ENABLE		_IO(UAAF_IOC_MAGIC, 0x04)
#define UAAF_IOC_STATUS		_IOR(UAAF_IOC_MAGIC, 0x05, struct uaaf_status)
#define UAAF_IOC_DETACH		_IO(UAAF_IOC_MAGIC, 0x06)

/* Layout pins: a change here is an ABI change. */
_Static_assert(sizeof(struct uaaf_version) == 8, "uaaf_version size");
_Static_assert(sizeof(struct uaaf_caps) == 104, "uaaf_caps size");
_Static_assert(sizeof(struct uaaf_attach) == 8, "uaaf_attach size");
_Static_assert(sizeof(struct uaaf_range) == 32, "uaaf_range size");
_Static_assert(sizeof(struct uaaf_view) == 16, "uaaf_view size");
_Static_assert(sizeof(struct uaaf_status) == 56, "uaaf_status size");

#endif /* _UAPI_UAAF_H */
