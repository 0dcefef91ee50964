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
 * Exit protocol. KVM must never run its exit handlers, or re-enter, while a
 * module view is loaded in EPT_POINTER: its handlers would fix faults in a
 * table they do not own and an exit would resume in the wrong view. So:
 *  - kvm_exit: if EPT_POINTER is a view, remember which one and write KVM's
 *    EPTP back. An EPT violation/misconfiguration inside a view, any exit
 *    from the empty EPT, and a VMFUNC exit from a view are view faults:
 *    recorded for UAAF_IOC_STATUS, fatal (KVM_REQ_TRIPLE_FAULT, which KVM
 *    turns into KVM_EXIT_SHUTDOWN before the next entry).
 *  - kvm_entry: refresh slot 0 from EPT_POINTER (KVM swaps roots), assert
 *    the VMFUNC controls, then load the remembered view.
 * A failed VM entry produces no kvm_exit, so EPT_POINTER can still hold a
 * view at the next kvm_entry; slot 0 is refreshed only when EPT_POINTER is
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
 * VMCS must be current.
 */
void uaaf_scrub_vmcs(struct uaaf_session *s)
{
	u64 cur, sec;

	if (!s->touched)
		return;
	if (!uaaf_vmread(EPT_POINTER, &cur) &&
	    uaaf_root_index(s, cur) != UAAF_ROOT_NOT_OURS)
		uaaf_vmwrite(EPT_POINTER, s->kvm_eptp);
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

/* View fault: record it, disable views for good, shut the VM down. */
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
	smp_store_release(&s->hw, UAAF_HW_FAULTED);
	kvm_make_request(KVM_REQ_TRIPLE_FAULT, vcpu);
}

static void uaaf_on_entry(struct kvm_vcpu *vcpu)
{
	struct uaaf_session *s;
	u64 cur, want;

	rcu_read_lock();
	s = uaaf_find(vcpu);
	if (!s)
		goto out;
	switch (smp_load_acquire(&s->hw)) {
	case UAAF_HW_ON:
		break;
	case UAAF_HW_SCRUB:
		uaaf_probe_scrub(s);
		goto out;
	default:
		goto out;
	}
	/* In guest mode the current VMCS is vmcs02, not ours: hands off. */
	if (vcpu->arch.hflags & HF_GUEST_MASK)
		goto out;
	/*
	 * No views in SMM (KVM uses other roots there): turn them off, keeping
	 * saved_view so that RSM cannot promote view code into view 0.
	 */
	if (vcpu->arch.hflags & HF_SMM_MASK) {
		uaaf_scrub_vmcs(s);
		goto out;
	}
	if (uaaf_vmread(EPT_POINTER, &cur))
		goto out;
	if (uaaf_root_index(s, cur) == UAAF_ROOT_NOT_OURS &&
	    cur != s->kvm_eptp) {
		s->kvm_eptp = cur;
		WRITE_ONCE(s->list[0], cur);
	}
	if (!s->kvm_eptp || !uaaf_assert_controls(s)) {
		uaaf_scrub_vmcs(s);
		goto out;
	}
	want = s->saved_view ? s->list[s->saved_view] : s->kvm_eptp;
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
	u64 cur, reason_full;
	u32 reason;
	int idx;

	rcu_read_lock();
	s = uaaf_find(vcpu);
	if (!s)
		goto out;
	switch (smp_load_acquire(&s->hw)) {
	case UAAF_HW_ON:
		break;
	case UAAF_HW_SCRUB:
		uaaf_probe_scrub(s);
		goto out;
	default:
		goto out;
	}
	if (vcpu->arch.hflags & HF_GUEST_MASK)
		goto out;

	raw_spin_lock(&s->stat_lock);
	s->exits++;
	raw_spin_unlock(&s->stat_lock);

	if (uaaf_vmread(EPT_POINTER, &cur))
		goto out;
	idx = cur == s->kvm_eptp ? 0 : uaaf_root_index(s, cur);
	if (idx == 0 || idx == UAAF_ROOT_NOT_OURS) {
		s->saved_view = 0;
		WRITE_ONCE(s->active_view, 0);
		goto out;
	}
	if (uaaf_vmread(VM_EXIT_REASON, &reason_full))
		reason_full = 0;
	reason = (u32)reason_full & 0xffff;
	if (idx == UAAF_ROOT_EMPTY ||
	    reason == EXIT_REASON_EPT_VIOLATION ||
	    reason == EXIT_REASON_EPT_MISCONFIG ||
	    reason == EXIT_REASON_VMFUNC) {
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
