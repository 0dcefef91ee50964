// SPDX-License-Identifier: GPL-2.0
/*
 * caps.c - decide at load time whether this host can do VMFUNC EPTP
 * switching, from CPUID and the VMX capability MSRs (Intel SDM Vol. 3D,
 * appendix A). Every MSR is read with rdmsr_safe(): on AMD, or under a
 * hypervisor that hides VMX (PVM), the read faults and is reported instead
 * of oopsing. The capabilities of the CPU that loads the module are taken
 * as the host's; mixed CPU models are not supported by KVM either.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/vmx.h>

#include "uaaf.h"

struct uaaf_caps uaaf_host_caps;

static void uaaf_caps_fail(struct uaaf_caps *caps, u32 reason, const char *why)
{
	caps->reason = reason;
	strscpy(caps->reason_str, why, sizeof(caps->reason_str));
}

/* Read an MSR into *val; false (and *val = 0) when the read faults. */
static bool uaaf_rdmsr(u32 msr, u64 *val)
{
	u32 lo, hi;

	if (rdmsr_safe(msr, &lo, &hi)) {
		*val = 0;
		return false;
	}
	*val = ((u64)hi << 32) | lo;
	return true;
}

void uaaf_probe_caps(struct uaaf_caps *caps)
{
	u64 ctls, ctls2, ept, vmfunc;
	u32 allowed1;

	memset(caps, 0, sizeof(*caps));

	if (!boot_cpu_has(X86_FEATURE_VMX)) {
		uaaf_caps_fail(caps, UAAF_REASON_NO_VMX,
			       "no Intel VT-x (AMD, or VMX hidden by a hypervisor)");
		return;
	}
	caps->flags |= UAAF_CAP_VMX;

	/* Allowed-1 settings are the high 32 bits of the control MSRs. */
	if (!uaaf_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS, &ctls)) {
		uaaf_caps_fail(caps, UAAF_REASON_MSR_FAULT,
			       "IA32_VMX_PROCBASED_CTLS unreadable");
		return;
	}
	if (!((ctls >> 32) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)) {
		uaaf_caps_fail(caps, UAAF_REASON_NO_SECONDARY,
			       "no secondary processor-based VM controls");
		return;
	}
	if (!uaaf_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2, &ctls2)) {
		uaaf_caps_fail(caps, UAAF_REASON_MSR_FAULT,
			       "IA32_VMX_PROCBASED_CTLS2 unreadable");
		return;
	}
	caps->msr_procbased_ctls2 = ctls2;
	allowed1 = ctls2 >> 32;
	if (allowed1 & SECONDARY_EXEC_ENABLE_EPT)
		caps->flags |= UAAF_CAP_EPT;
	if (allowed1 & SECONDARY_EXEC_ENABLE_VMFUNC)
		caps->flags |= UAAF_CAP_VMFUNC;

	/* IA32_VMX_EPT_VPID_CAP exists only if EPT (or VPID) can be enabled. */
	if (caps->flags & UAAF_CAP_EPT && uaaf_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP, &ept)) {
		caps->msr_ept_vpid_cap = ept;
		if (ept & VMX_EPT_PAGE_WALK_4_BIT)
			caps->flags |= UAAF_CAP_EPT_4LEVEL;
		if (ept & VMX_EPTP_WB_BIT)
			caps->flags |= UAAF_CAP_EPT_WB;
		if ((ept & VMX_EPT_INVEPT_BIT) && (ept & VMX_EPT_EXTENT_CONTEXT_BIT))
			caps->flags |= UAAF_CAP_INVEPT_SINGLE;
		if (ept & VMX_EPT_EXECUTE_ONLY_BIT)
			caps->flags |= UAAF_CAP_EPT_EXEC_ONLY;
	}
	/* IA32_VMX_VMFUNC exists only if VM functions can be enabled. */
	if (caps->flags & UAAF_CAP_VMFUNC && uaaf_rdmsr(MSR_IA32_VMX_VMFUNC, &vmfunc)) {
		caps->msr_vmfunc = vmfunc;
		if (vmfunc & VMX_VMFUNC_EPTP_SWITCHING)
			caps->flags |= UAAF_CAP_EPTP_SWITCHING;
	}

	if (!(caps->flags & UAAF_CAP_EPT))
		uaaf_caps_fail(caps, UAAF_REASON_NO_EPT, "EPT not supported");
	else if (!(caps->flags & UAAF_CAP_VMFUNC))
		uaaf_caps_fail(caps, UAAF_REASON_NO_VMFUNC,
			       "VM functions not supported");
	else if (!(caps->flags & UAAF_CAP_EPTP_SWITCHING))
		uaaf_caps_fail(caps, UAAF_REASON_NO_EPTP_SWITCHING,
			       "VMFUNC leaf 0 (EPTP switching) not supported");
	else if (!(caps->flags & UAAF_CAP_EPT_4LEVEL))
		uaaf_caps_fail(caps, UAAF_REASON_NO_EPT_4LEVEL,
			       "4-level EPT walk not supported");
	else if (!(caps->flags & UAAF_CAP_EPT_WB))
		uaaf_caps_fail(caps, UAAF_REASON_NO_EPT_WB,
			       "write-back EPT paging structures not supported");
	else if (!(caps->flags & UAAF_CAP_INVEPT_SINGLE))
		uaaf_caps_fail(caps, UAAF_REASON_NO_INVEPT,
			       "INVEPT single-context not supported");
	else
		caps->flags |= UAAF_CAP_USABLE;
}
