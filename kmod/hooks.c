// SPDX-License-Identifier: GPL-2.0
/*
 * hooks.c - the kvm_entry/kvm_exit tracepoint probes that install a
 * session's EPTP list into its vCPU's VMCS, and the exit protocol.
 *
 * Both tracepoints fire inside vmx_vcpu_run() on the vCPU's thread with
 * IRQs off and that vCPU's VMCS current, so plain VMREAD/VMWRITE reach the
 * right VMCS. The probes are registered once at load time (only on hosts
 * that pass the capability check) and look the vCPU up in an RCU hash; a
 * vCPU of no session costs one hash probe per entry and exit.
 *
 * Exit protocol. The guest only ever runs in a module view: slot 0 is the
 * session view the module built, not KVM's EPT (which maps every memslot,
 * every library's memory included). KVM must never run its exit handlers,
 * or re-enter, while a module view is loaded in EPT_POINTER: its handlers
 * would fix faults in a table they do not own and an exit would resume in
 * the wrong view. So:
 *  - kvm_exit: EPT_POINTER is a view (0..511); remember which one and write
 *    KVM's EPTP back. An exit that KVM would answer by touching guest memory
 *    in its own GPA space on the guest's say-so (see uaaf_exit_fatal), any
 *    exit from the empty EPT, and any exit outside 64-bit mode are view
 *    faults: recorded for UAAF_IOC_STATUS, fatal (KVM_REQ_TRIPLE_FAULT,
 *    which KVM turns into KVM_EXIT_SHUTDOWN before the next entry).
 *  - kvm_entry: learn KVM's EPTP from EPT_POINTER when it is not one of
 *    ours (KVM swaps roots), assert the VMFUNC controls, then load the
 *    remembered view (view 0 at first). If the VMCS refuses the controls the
 *    guest is entered in the empty EPT, so it stops at its first access
 *    instead of running in KVM's EPT (fail closed).
 *  - after a fault the session stays "faulted": every later entry loads the
 *    empty EPT and every exit asks for a shutdown again, so a monitor that
 *    calls KVM_RUN after KVM_EXIT_SHUTDOWN cannot resume the guest in KVM's
 *    EPT.
 * A failed VM entry produces no kvm_exit, so EPT_POINTER can still hold a
 * view at the next kvm_entry; KVM's EPTP is learned only when EPT_POINTER is
 * not one of ours.
 *
 * kvm_entry signature drift. The tracepoint is TP_PROTO(vcpu) up to Linux
 * 6.8 and TP_PROTO(vcpu, bool force_immediate_exit) from 6.9, and that change
 * was backported to stable trees (Debian's 6.1.19x has it). KVM's trace.h is
 * not shipped with kernel headers, so it cannot be included. The same
 * upstream change also gave kvm_x86_ops.vcpu_run its second parameter, and
 * asm/kvm_host.h *is* shipped: UAAF_KVM_ENTRY_ARGS below is derived from the
 * type of that member at compile time. When the build has the full source
 * tree, Kbuild additionally reads the TP_PROTO from arch/x86/kvm/trace.h and
 * passes UAAF_TRACE_H_ENTRY_ARGS; a BUILD_BUG_ON stops the build if the two
 * disagree. `make UAAF_KVM_ENTRY_ARGS=1|2` overrides both.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/kvm_host.h>
#include <linux/rculist.h>
#include <linux/tracepoint.h>
#include <linux/version.h>
#include <asm/vmx.h>

#include "uaaf.h"
#include "vmx_ops.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "uaaf needs Linux 6.1 or later (kvm_exit takes (vcpu, isa) there)"
#endif

/* True when kvm_x86_ops.vcpu_run takes only the vCPU: the old kvm_entry. */
#define UAAF_VCPU_RUN_HAS_ONE_ARG					\
	__builtin_types_compatible_p(					\
		typeof(((struct kvm_x86_ops *)NULL)->vcpu_run),		\
		enum exit_fastpath_completion (*)(struct kvm_vcpu *))

#ifndef UAAF_KVM_ENTRY_ARGS
#define UAAF_KVM_ENTRY_ARGS	(UAAF_VCPU_RUN_HAS_ONE_ARG ? 1 : 2)
#define UAAF_ENTRY_ARGS_DERIVED	1
#endif

DECLARE_TRACEPOINT(kvm_entry);
DECLARE_TRACEPOINT(kvm_exit);

static DEFINE_HASHTABLE(uaaf_vcpus, 6);
static DEFINE_MUTEX(uaaf_vcpus_lock);

/* Callers hold rcu_read_lock() or uaaf_vcpus_lock. */
static struct uaaf_session *uaaf_find(struct kvm_vcpu *vcpu)
{
	struct uaaf_session *s;

	hash_for_each_possible_rcu(uaaf_vcpus, s, hnode, (unsigned long)vcpu,
				   lockdep_is_held(&uaaf_vcpus_lock))
		if (s->vcpu == vcpu)
			return s;
	return NULL;
}

/* Make @s visible to the probes; one session per vCPU, else -EBUSY. */
int uaaf_hash_add(struct uaaf_session *s)
{
	int err = -EBUSY;

	mutex_lock(&uaaf_vcpus_lock);
	if (!uaaf_find(s->vcpu)) {
		hash_add_rcu(uaaf_vcpus, &s->hnode, (unsigned long)s->vcpu);
		s->hashed = true;
		err = 0;
	}
	mutex_unlock(&uaaf_vcpus_lock);
	return err;
}

/* Unhash and wait until no probe can still see @s. */
void uaaf_hash_del(struct uaaf_session *s)
{
	if (!s->hashed)
		return;
	mutex_lock(&uaaf_vcpus_lock);
	hash_del_rcu(&s->hnode);
	s->hashed = false;
	mutex_unlock(&uaaf_vcpus_lock);
	synchronize_rcu();
}

/* Which slot @eptp came from: a view index, EMPTY or NOT_OURS. */
int uaaf_root_index(const struct uaaf_session *s, u64 eptp)
{
	u32 i;

	if (eptp == s->empty_eptp)
		return UAAF_ROOT_EMPTY;
	for (i = 0; i < s->nr_views; i++)
		if (s->list[s->view_idx[i]] == eptp)
			return s->view_idx[i];
	return UAAF_ROOT_NOT_OURS;
}

/*
 * Put the VMCS back the way KVM left it: KVM's EPTP loaded, VM functions
 * and the EPTP-list address as they were, secondary control bit restored.
 * EPT_POINTER is restored whenever it holds one of our roots, even if the
 * controls were never touched (the empty EPT of a faulted session). VMCS
 * must be current.
 */
void uaaf_scrub_vmcs(struct uaaf_session *s)
{
	u64 cur, sec;

	if (s->kvm_eptp && !uaaf_vmread(EPT_POINTER, &cur) &&
	    uaaf_root_index(s, cur) != UAAF_ROOT_NOT_OURS)
		uaaf_vmwrite(EPT_POINTER, s->kvm_eptp);
	if (!s->touched)
		return;
	uaaf_vmwrite(VM_FUNCTION_CONTROL, s->orig_vmfunc_ctl);
	uaaf_vmwrite(EPTP_LIST_ADDRESS, s->orig_list_addr);
	if (!uaaf_vmread(SECONDARY_VM_EXEC_CONTROL, &sec)) {
		u64 want = s->orig_vmfunc_bit ?
			   sec | SECONDARY_EXEC_ENABLE_VMFUNC :
			   sec & ~(u64)SECONDARY_EXEC_ENABLE_VMFUNC;

		if (want != sec)
			uaaf_vmwrite(SECONDARY_VM_EXEC_CONTROL, want);
	}
	/* saved_view is kept: after SMM the vCPU resumes in the same view. */
	s->touched = false;
}

/*
 * Enable EPTP switching in the current VMCS. KVM up to 6.2 sets the VMFUNC
 * secondary control for L1 itself; from 6.3 it clears it, and it may
 * rewrite the control word at any time, so this runs on every entry and
 * writes only what differs. Returns false if the VMCS refused.
 */
static bool uaaf_assert_controls(struct uaaf_session *s)
{
	u64 sec, ctl, list;

	if (uaaf_vmread(SECONDARY_VM_EXEC_CONTROL, &sec) ||
	    uaaf_vmread(VM_FUNCTION_CONTROL, &ctl) ||
	    uaaf_vmread(EPTP_LIST_ADDRESS, &list))
		return false;
	if (!s->touched) {
		s->orig_vmfunc_bit = sec & SECONDARY_EXEC_ENABLE_VMFUNC;
		s->orig_vmfunc_ctl = ctl;
		s->orig_list_addr = list;
		s->touched = true;
	}
	if (!(sec & SECONDARY_EXEC_ENABLE_VMFUNC) &&
	    uaaf_vmwrite(SECONDARY_VM_EXEC_CONTROL,
			 sec | SECONDARY_EXEC_ENABLE_VMFUNC))
		return false;
	if (ctl != VMX_VMFUNC_EPTP_SWITCHING &&
	    uaaf_vmwrite(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING))
		return false;
	if (list != s->list_pa && uaaf_vmwrite(EPTP_LIST_ADDRESS, s->list_pa))
		return false;
	return true;
}

/* A probe found teardown waiting: scrub on the vCPU thread and report. */
static void uaaf_probe_scrub(struct uaaf_session *s)
{
	uaaf_scrub_vmcs(s);
	smp_store_release(&s->hw, UAAF_HW_OFF);
	complete(&s->scrubbed);
}

/*
 * Is exit @reason, taken in a module view, a view fault? KVM handles every
 * exit in its own EPT, i.e. with *all* memslots, every library's memory
 * included. Exits that KVM answers by reading or writing guest memory at
 * addresses the guest chose - instruction emulation through the guest's
 * page tables (MMIO, string I/O, #UD/#GP/#PF intercepts, APIC access,
 * descriptor-table and task-switch exits), GPAs passed in hypercalls and
 * MSRs (kvmclock, steal time, Hyper-V pages ...), nested VMX - would let
 * code in any view reach memory outside it. Only exits KVM handles with
 * registers alone are allowed: an allow list, so a new exit reason is fatal
 * until someone reviews its handler.
 */
static bool uaaf_exit_fatal(u32 reason)
{
	u64 v;

	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI:
		if (uaaf_vmread(VM_EXIT_INTR_INFO, &v))
			return true;
		if (!(v & INTR_INFO_VALID_MASK) ||
		    (v & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			return false;
		/* KVM emulates on these; #DB, #AC, #MC are reinjected. */
		switch (v & INTR_INFO_VECTOR_MASK) {
		case UD_VECTOR:
		case GP_VECTOR:
		case PF_VECTOR:
			return true;
		}
		return false;
	case EXIT_REASON_IO_INSTRUCTION:
		/* INS/OUTS are emulated through the guest's page tables. */
		if (uaaf_vmread(EXIT_QUALIFICATION, &v))
			return true;
		return v & 0x10;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_TRIPLE_FAULT:
	case EXIT_REASON_INIT_SIGNAL:
	case EXIT_REASON_SIPI_SIGNAL:
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
	case EXIT_REASON_CPUID:
	case EXIT_REASON_HLT:
	case EXIT_REASON_RDPMC:
	case EXIT_REASON_RDTSC:
	case EXIT_REASON_CR_ACCESS:	/* no PDPTR loads: 64-bit mode checked */
	case EXIT_REASON_DR_ACCESS:
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
	case EXIT_REASON_PAUSE_INSTRUCTION:
	case EXIT_REASON_TPR_BELOW_THRESHOLD:
	case EXIT_REASON_EOI_INDUCED:
	case EXIT_REASON_RDTSCP:
	case EXIT_REASON_PREEMPTION_TIMER:
	case EXIT_REASON_WBINVD:
	case EXIT_REASON_XSETBV:
	case EXIT_REASON_APIC_WRITE:
	case EXIT_REASON_PML_FULL:
	case EXIT_REASON_BUS_LOCK:
		return false;
	}
	/*
	 * Everything else, notably EPT violation/misconfiguration (the access
	 * is outside the view; for a GPA outside every memslot KVM would
	 * emulate the instruction), VMFUNC (index >= 512), VMCALL, VMX
	 * instructions, MSR writes, APIC access, descriptor-table and task
	 * switch exits, INVPCID, and failed entries.
	 */
	return true;
}

/* View fault: record it, stop using views for good, shut the VM down. */
static void uaaf_view_fault(struct uaaf_session *s, struct kvm_vcpu *vcpu,
			    int idx, u32 reason)
{
	u64 gpa = 0, qual = 0;

	if (reason == EXIT_REASON_EPT_VIOLATION ||
	    reason == EXIT_REASON_EPT_MISCONFIG)
		uaaf_vmread(GUEST_PHYSICAL_ADDRESS, &gpa);
	uaaf_vmread(EXIT_QUALIFICATION, &qual);

	raw_spin_lock(&s->stat_lock);
	s->fault_view = idx >= 0 ? (u32)idx : UAAF_VIEW_UNUSED;
	s->fault_reason = reason;
	s->fault_gpa = gpa;
	s->fault_qual = qual;
	s->active_view = s->fault_view;
	raw_spin_unlock(&s->stat_lock);

	uaaf_scrub_vmcs(s);
	smp_store_release(&s->faulted, true);
	kvm_make_request(KVM_REQ_TRIPLE_FAULT, vcpu);
}

/* Learn KVM's EPTP from EPT_POINTER unless that holds one of our roots. */
static void uaaf_learn_kvm_eptp(struct uaaf_session *s, u64 cur)
{
	if (uaaf_root_index(s, cur) == UAAF_ROOT_NOT_OURS)
		s->kvm_eptp = cur;
}

/*
 * uaaf_active - the session of @vcpu if its views are live on this entry or
 * exit, else NULL (a session being torn down is scrubbed on the way). In
 * guest mode the current VMCS is vmcs02, not ours: hands off then too.
 * Caller holds rcu_read_lock().
 */
static struct uaaf_session *uaaf_active(struct kvm_vcpu *vcpu)
{
	struct uaaf_session *s = uaaf_find(vcpu);

	if (!s)
		return NULL;
	switch (smp_load_acquire(&s->hw)) {
	case UAAF_HW_ON:
		break;
	case UAAF_HW_SCRUB:
		uaaf_probe_scrub(s);
		return NULL;
	default:
		return NULL;
	}
	if (vcpu->arch.hflags & HF_GUEST_MASK)
		return NULL;
	return s;
}

static void uaaf_on_entry(struct kvm_vcpu *vcpu)
{
	struct uaaf_session *s;
	u64 cur, want;

	rcu_read_lock();
	s = uaaf_active(vcpu);
	if (!s)
		goto out;
	if (uaaf_vmread(EPT_POINTER, &cur))
		goto out;
	uaaf_learn_kvm_eptp(s, cur);
	if (!s->kvm_eptp)
		goto out;	/* cannot happen: cur was KVM's or we wrote it */

	/* Faulted: keep the VM dead even if the monitor runs it again. */
	if (smp_load_acquire(&s->faulted)) {
		if (cur != s->empty_eptp)
			uaaf_vmwrite(EPT_POINTER, s->empty_eptp);
		kvm_make_request(KVM_REQ_TRIPLE_FAULT, vcpu);
		goto out;
	}
	/*
	 * No views in SMM (KVM uses other roots there): turn them off, keeping
	 * saved_view so that RSM resumes in the same view.
	 */
	if (vcpu->arch.hflags & HF_SMM_MASK) {
		uaaf_scrub_vmcs(s);
		goto out;
	}
	if (uaaf_assert_controls(s))
		want = s->list[s->saved_view];
	else
		want = s->empty_eptp;	/* fail closed: stop at the first access */
	if (cur != want)
		uaaf_vmwrite(EPT_POINTER, want);

	raw_spin_lock(&s->stat_lock);
	s->entries++;
	raw_spin_unlock(&s->stat_lock);
out:
	rcu_read_unlock();
}

static void uaaf_on_exit(struct kvm_vcpu *vcpu)
{
	struct uaaf_session *s;
	u64 cur, reason_full, entry_ctls;
	u32 reason;
	int idx;

	rcu_read_lock();
	s = uaaf_active(vcpu);
	if (!s)
		goto out;

	raw_spin_lock(&s->stat_lock);
	s->exits++;
	raw_spin_unlock(&s->stat_lock);

	if (uaaf_vmread(EPT_POINTER, &cur))
		goto out;
	idx = uaaf_root_index(s, cur);
	/*
	 * Not ours: this run was not in a view (SMM). saved_view is kept, so
	 * the vCPU goes back to the view it was in.
	 */
	if (idx == UAAF_ROOT_NOT_OURS)
		goto out;
	if (smp_load_acquire(&s->faulted)) {
		uaaf_vmwrite(EPT_POINTER, s->kvm_eptp);
		kvm_make_request(KVM_REQ_TRIPLE_FAULT, vcpu);
		goto out;
	}
	if (uaaf_vmread(VM_EXIT_REASON, &reason_full))
		reason_full = 0xffff;	/* unknown: fatal */
	reason = (u32)reason_full & 0xffff;
	/*
	 * The CPU saves EFER.LMA into the "IA-32e mode guest" entry control on
	 * every exit. Views are for 64-bit code only: outside long mode KVM's
	 * CR handlers load PAE PDPTRs from its own GPA space.
	 */
	if (uaaf_vmread(VM_ENTRY_CONTROLS, &entry_ctls))
		entry_ctls = 0;
	if (idx == UAAF_ROOT_EMPTY || !(entry_ctls & VM_ENTRY_IA32E_MODE) ||
	    uaaf_exit_fatal(reason)) {
		uaaf_view_fault(s, vcpu, idx, reason);
		goto out;
	}
	/* An ordinary exit inside view idx: KVM handles it in its own EPT. */
	s->saved_view = idx;
	WRITE_ONCE(s->active_view, idx);
	uaaf_vmwrite(EPT_POINTER, s->kvm_eptp);
out:
	rcu_read_unlock();
}

/* Probe for TP_PROTO(struct kvm_vcpu *vcpu). */
static void uaaf_probe_entry1(void *data, struct kvm_vcpu *vcpu)
{
	uaaf_on_entry(vcpu);
}

/* Probe for TP_PROTO(struct kvm_vcpu *vcpu, bool force_immediate_exit). */
static void uaaf_probe_entry2(void *data, struct kvm_vcpu *vcpu,
			      bool force_immediate_exit)
{
	uaaf_on_entry(vcpu);
}

/* Probe for TP_PROTO(struct kvm_vcpu *vcpu, u32 isa), stable since 5.x. */
static void uaaf_probe_exit(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
	uaaf_on_exit(vcpu);
}

static void *uaaf_entry_probe(void)
{
#if defined(UAAF_TRACE_H_ENTRY_ARGS) && defined(UAAF_ENTRY_ARGS_DERIVED)
	/* Full source tree available: trace.h and kvm_host.h must agree. */
	BUILD_BUG_ON(UAAF_TRACE_H_ENTRY_ARGS != UAAF_KVM_ENTRY_ARGS);
#endif
	BUILD_BUG_ON(UAAF_KVM_ENTRY_ARGS != 1 && UAAF_KVM_ENTRY_ARGS != 2);
	if (UAAF_KVM_ENTRY_ARGS == 1)
		return uaaf_probe_entry1;
	return uaaf_probe_entry2;
}

int uaaf_hooks_register(void)
{
	int err;

	err = tracepoint_probe_register(&__tracepoint_kvm_entry,
					uaaf_entry_probe(), NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(&__tracepoint_kvm_exit,
					uaaf_probe_exit, NULL);
	if (err) {
		tracepoint_probe_unregister(&__tracepoint_kvm_entry,
					    uaaf_entry_probe(), NULL);
		tracepoint_synchronize_unregister();
		return err;
	}
	pr_info("hooked kvm_entry (%d-argument prototype) and kvm_exit\n",
		UAAF_KVM_ENTRY_ARGS);
	return 0;
}

void uaaf_hooks_unregister(void)
{
	tracepoint_probe_unregister(&__tracepoint_kvm_exit, uaaf_probe_exit,
				    NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_entry,
				    uaaf_entry_probe(), NULL);
	tracepoint_synchronize_unregister();
}
