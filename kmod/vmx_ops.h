/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmx_ops.h - uaaf's own VMREAD, VMWRITE and INVEPT.
 *
 * KVM's vmcs_read64()/vmcs_write64() live in arch/x86/kvm/vmx/ and are not
 * shipped with kernel headers, so the module issues the instructions itself.
 * Each one has an exception-table entry: if the CPU is not in VMX operation
 * the instruction raises #UD, the fixup resumes after it, and the helper
 * returns -EFAULT instead of oopsing. A VMfail (CF or ZF set: no current
 * VMCS, or an invalid field) returns -EIO. The caller must ensure the vCPU's
 * VMCS is current: true inside the kvm_entry/kvm_exit tracepoints of
 * vmx_vcpu_run(), and between vcpu_load() and vcpu_put() with preemption off.
 */
#ifndef _UAAF_VMX_OPS_H
#define _UAAF_VMX_OPS_H

#include <linux/types.h>
#include <linux/errno.h>
#include <asm/asm.h>

/* err starts at 2 ("faulted"); SETNA overwrites it only if VMREAD ran. */
static __always_inline int uaaf_vmread(unsigned long field, u64 *value)
{
	u64 v = 0;
	u8 err = 2;

	asm volatile("1: vmread %[field], %[val]\n\t"
		     "setna %[err]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [val] "+r" (v), [err] "+qm" (err)
		     : [field] "r" (field)
		     : "cc");
	*value = v;
	if (err == 2)
		return -EFAULT;
	return err ? -EIO : 0;
}

static __always_inline int uaaf_vmwrite(unsigned long field, u64 value)
{
	u8 err = 2;

	asm volatile("1: vmwrite %[val], %[field]\n\t"
		     "setna %[err]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [err] "+qm" (err)
		     : [val] "rm" (value), [field] "r" (field)
		     : "cc");
	if (err == 2)
		return -EFAULT;
	return err ? -EIO : 0;
}

/* INVEPT descriptor: EPTP, then a reserved quadword that must be zero. */
struct uaaf_invept_desc {
	u64 eptp;
	u64 reserved;
};

static __always_inline int uaaf_invept(unsigned long type, u64 eptp)
{
	struct uaaf_invept_desc desc = { .eptp = eptp, .reserved = 0 };
	u8 err = 2;

	asm volatile("1: invept %[desc], %[type]\n\t"
		     "setna %[err]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [err] "+qm" (err)
		     : [desc] "m" (desc), [type] "r" (type)
		     : "cc", "memory");
	if (err == 2)
		return -EFAULT;
	return err ? -EIO : 0;
}

#endif /* _UAAF_VMX_OPS_H */
