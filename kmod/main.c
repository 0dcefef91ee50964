// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - /dev/uaaf: give one KVM vCPU an EPTP list for VMFUNC EPTP
 * switching (VMFUNC leaf 0), so a guest can move between EPT "views"
 * without a VM exit. See README.md for the design and its security
 * argument, uaaf_uapi.h for the ABI, hooks.c for the VMCS protocol.
 *
 * Lifetime: each open file is a session. ATTACH takes a reference on the
 * KVM VM and names one vCPU; DEFINE_VIEW pins guest pages and builds a view;
 * ENABLE lets the tracepoint probes install the list on the next VM entry;
 * DETACH or the last close() undoes all of it, in this order: stop the
 * probes touching the vCPU and scrub its VMCS, unhash and wait for RCU,
 * INVEPT on every CPU, free tables, unpin pages, drop the VM reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/kvm_host.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/vmx.h>

#include "uaaf.h"
#include "vmx_ops.h"

/* Pages pinned per pin_user_pages_fast() call. */
#define UAAF_PIN_BATCH		512

static bool uaaf_hooked;

/* ---- table pages for ept.c ------------------------------------------- */

static void *uaaf_alloc_table(void *ctx, u64 *hpa)
{
	void *va = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

	if (va)
		*hpa = __pa(va);
	return va;
}

static void uaaf_free_table(void *ctx, void *va)
{
	free_page((unsigned long)va);
}

static void *uaaf_table_va(void *ctx, u64 hpa)
{
	return __va(hpa);
}

static const struct ept_ops uaaf_ept_ops = {
	.alloc_table = uaaf_alloc_table,
	.free_table = uaaf_free_table,
	.table_va = uaaf_table_va,
};

/* Memslot lookup for ept_validate_ranges(); kvm->srcu must be held. */
static int uaaf_slot_lookup(void *ctx, u64 gpa, struct ept_slot *out)
{
	struct kvm *kvm = ctx;
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gpa >> PAGE_SHIFT);

	/* KVM-internal slots (APIC access page ...) are not guest RAM. */
	if (!slot || slot->id >= KVM_USER_MEM_SLOTS ||
	    (slot->flags & KVM_MEMSLOT_INVALID))
		return -ENOENT;
	out->base_gpa = slot->base_gfn << PAGE_SHIFT;
	out->size = slot->npages << PAGE_SHIFT;
	out->perms = UAAF_PERM_R | UAAF_PERM_X;
	if (!(slot->flags & KVM_MEM_READONLY))
		out->perms |= UAAF_PERM_W;
	return 0;
}

/* ---- views ------------------------------------------------------------ */

static void uaaf_view_free(struct uaaf_view_state *v)
{
	u32 i;

	if (!v)
		return;
	ept_destroy(&v->ept);
	for (i = 0; i < v->nr_pins; i++) {
		struct uaaf_pin *p = &v->pins[i];

		if (p->nr)
			unpin_user_pages_dirty_lock(p->pages, p->nr, p->dirty);
		kvfree(p->pages);
	}
	kfree(v->pins);
	kfree(v);
}

/* ept_src_hpa_fn for a pinned range: ctx is its struct uaaf_pin. */
static u64 uaaf_pin_hpa(void *ctx, const struct uaaf_range *r, u64 off)
{
	struct uaaf_pin *p = ctx;
	unsigned long i = off >> PAGE_SHIFT;

	/* Physical page 0 is never handed out on x86, so 0 can mean "none". */
	return i < p->nr ? page_to_phys(p->pages[i]) : 0;
}

/*
 * Pin the source of one validated range and map it at its view GPA. The
 * source lies inside one memslot, so its host virtual addresses are
 * contiguous. Pages of a writable memslot are pinned FOLL_WRITE (breaking
 * COW exactly as KVM's own mapping does); pages of a read-only memslot are
 * pinned for reading only.
 */
static int uaaf_view_map_range(struct kvm *kvm, struct uaaf_view_state *v,
			       struct uaaf_pin *p, const struct uaaf_range *r)
{
	unsigned long npages = r->size >> PAGE_SHIFT;
	gfn_t src_gfn = r->src_gpa >> PAGE_SHIFT;
	struct kvm_memory_slot *slot;
	unsigned long hva;
	unsigned int gup;

	slot = gfn_to_memslot(kvm, src_gfn);
	if (!slot)
		return -ENOENT;
	p->dirty = !(slot->flags & KVM_MEM_READONLY);
	gup = FOLL_LONGTERM | (p->dirty ? FOLL_WRITE : 0);

	/* gfn_to_hva() refuses read-only slots; the memslot variant does not. */
	hva = gfn_to_hva_memslot(slot, src_gfn);
	if (kvm_is_error_hva(hva))
		return -EFAULT;
	p->pages = kvmalloc_array(npages, sizeof(*p->pages), GFP_KERNEL_ACCOUNT);
	if (!p->pages)
		return -ENOMEM;

	while (p->nr < npages) {
		int want = min_t(unsigned long, npages - p->nr, UAAF_PIN_BATCH);
		int got = pin_user_pages_fast(hva + (p->nr << PAGE_SHIFT), want,
					      gup, p->pages + p->nr);

		if (got <= 0)
			return got ? got : -EFAULT;
		p->nr += got;
		cond_resched();
	}

	return ept_map_range(&v->ept, r, uaaf_pin_hpa, p);
}

static int uaaf_define_view(struct uaaf_session *s, void __user *uarg)
{
	bool exec_only = uaaf_host_caps.flags & UAAF_CAP_EPT_EXEC_ONLY;
	struct uaaf_view_state *v = NULL;
	struct uaaf_range *ranges;
	struct uaaf_view uv;
	int err, srcu;
	u32 i;

	if (copy_from_user(&uv, uarg, sizeof(uv)))
		return -EFAULT;
	if (s->state != UAAF_STATE_ATTACHED)
		return s->state == UAAF_STATE_DETACHED ? -ENOTCONN : -EBUSY;
	if (ept_check_view_index(uv.index))
		return -EINVAL;
	if (!uv.nr_ranges)
		return -EINVAL;
	if (uv.nr_ranges > UAAF_MAX_RANGES)
		return -E2BIG;
	if (s->views[uv.index])
		return -EEXIST;

	ranges = memdup_user(u64_to_user_ptr(uv.ranges),
			     array_size(uv.nr_ranges, sizeof(*ranges)));
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);

	/* Pinning touches the VM owner's mm, which attach made sure is ours. */
	if (s->kvm->mm != current->mm) {
		err = -EPERM;
		goto out_ranges;
	}

	srcu = srcu_read_lock(&s->kvm->srcu);
	err = ept_validate_ranges(ranges, uv.nr_ranges, exec_only,
				  uaaf_slot_lookup, s->kvm);
	if (err)
		goto out_unlock;

	err = -ENOMEM;
	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		goto out_unlock;
	v->pins = kcalloc(uv.nr_ranges, sizeof(*v->pins), GFP_KERNEL_ACCOUNT);
	if (!v->pins)
		goto out_unlock;
	v->nr_pins = uv.nr_ranges;
	err = ept_init(&v->ept, &uaaf_ept_ops, NULL);
	if (err)
		goto out_unlock;
	for (i = 0; i < uv.nr_ranges; i++) {
		err = uaaf_view_map_range(s->kvm, v, &v->pins[i], &ranges[i]);
		if (err)
			goto out_unlock;
	}
	v->eptp = ept_eptp(&v->ept);
	err = 0;
out_unlock:
	srcu_read_unlock(&s->kvm->srcu, srcu);
	if (err) {
		uaaf_view_free(v);
		goto out_ranges;
	}
	/*
	 * Not enabled yet: no probe reads the list or the index array. Index 0
	 * is the session view; ENABLE refuses to run without it.
	 */
	s->views[uv.index] = v;
	s->view_idx[s->nr_views++] = uv.index;
	eptp_list_set(s->list, uv.index, v->eptp);
out_ranges:
	kfree(ranges);
	return err;
}

/* ---- attach / teardown ------------------------------------------------ */

static int uaaf_attach(struct uaaf_session *s, void __user *uarg)
{
	struct uaaf_attach ua;
	struct kvm_vcpu *vcpu;
	struct kvm *kvm;
	struct fd f;
	int err;

	if (copy_from_user(&ua, uarg, sizeof(ua)))
		return -EFAULT;
	if (s->state != UAAF_STATE_DETACHED)
		return -EBUSY;
	if (ua.vcpu_id > INT_MAX)
		return -EINVAL;

	f = fdget(ua.vm_fd);
	if (!f.file)
		return -EBADF;
	if (!file_is_kvm(f.file)) {
		fdput(f);
		return -EINVAL;
	}
	kvm = f.file->private_data;
	if (kvm->mm != current->mm) {
		fdput(f);
		return -EPERM;
	}
	kvm_get_kvm(kvm);
	fdput(f);

	err = -ENOENT;
	vcpu = kvm_get_vcpu_by_id(kvm, ua.vcpu_id);
	if (!vcpu)
		goto out_put;
	err = -EOPNOTSUPP;
	if (vcpu->arch.guest_state_protected)	/* SEV-ES/TDX-like guests */
		goto out_put;
	err = -ENOMEM;
	s->list = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!s->list)
		goto out_put;
	s->list_pa = __pa(s->list);
	err = ept_init(&s->empty, &uaaf_ept_ops, NULL);
	if (err)
		goto out_list;
	s->empty_eptp = ept_eptp(&s->empty);
	eptp_list_init(s->list, s->empty_eptp);

	s->kvm = kvm;
	s->vcpu = vcpu;
	s->nr_views = 0;
	s->kvm_eptp = 0;
	s->saved_view = 0;
	s->touched = false;
	s->hw = UAAF_HW_OFF;
	s->faulted = false;
	s->active_view = 0;
	s->fault_view = 0;
	s->fault_reason = 0;
	s->fault_gpa = 0;
	s->fault_qual = 0;
	s->entries = 0;
	s->exits = 0;
	err = uaaf_hash_add(s);		/* -EBUSY: vCPU taken by another file */
	if (err)
		goto out_empty;
	s->state = UAAF_STATE_ATTACHED;
	return 0;

out_empty:
	ept_destroy(&s->empty);
	s->kvm = NULL;
	s->vcpu = NULL;
out_list:
	free_page((unsigned long)s->list);
	s->list = NULL;
out_put:
	kvm_put_kvm(kvm);
	return err;
}

/*
 * Get the module's state out of the vCPU's VMCS. Either a probe does it on
 * the vCPU thread (the vCPU is inside KVM_RUN: kick it so it exits and
 * re-enters), or, when KVM_RUN is not running (vcpu->mutex is free), we
 * load the vCPU here and do it ourselves. Waits as long as the vCPU sits
 * halted inside KVM_RUN.
 */
static void uaaf_scrub(struct uaaf_session *s)
{
	struct kvm_vcpu *vcpu = s->vcpu;
	unsigned long start = jiffies;

	if (smp_load_acquire(&s->hw) != UAAF_HW_ON)
		return;		/* never enabled: nothing of ours in the VMCS */
	reinit_completion(&s->scrubbed);
	smp_store_release(&s->hw, UAAF_HW_SCRUB);
	for (;;) {
		if (mutex_trylock(&vcpu->mutex)) {
			if (smp_load_acquire(&s->hw) == UAAF_HW_SCRUB) {
				vcpu_load(vcpu);
				preempt_disable();
				uaaf_scrub_vmcs(s);
				preempt_enable();
				vcpu_put(vcpu);
				smp_store_release(&s->hw, UAAF_HW_OFF);
			}
			mutex_unlock(&vcpu->mutex);
			return;
		}
		kvm_vcpu_kick(vcpu);
		if (wait_for_completion_timeout(&s->scrubbed,
						msecs_to_jiffies(10)))
			return;
		if (time_after(jiffies, start + 5 * HZ))
			pr_warn_once("detach waits for vCPU %d to leave KVM_RUN\n",
				     vcpu->vcpu_id);
	}
}

static void uaaf_invept_one_cpu(void *info)
{
	struct uaaf_session *s = info;
	u32 i;

	/* Faults (CPU not in VMX operation) are fine: nothing is cached. */
	uaaf_invept(VMX_EPT_EXTENT_CONTEXT, s->empty_eptp);
	for (i = 0; i < s->nr_views; i++)
		uaaf_invept(VMX_EPT_EXTENT_CONTEXT, s->views[s->view_idx[i]]->eptp);
}

static void uaaf_detach(struct uaaf_session *s)
{
	u32 i;

	if (s->state == UAAF_STATE_DETACHED)
		return;
	uaaf_scrub(s);
	uaaf_hash_del(s);
	if (uaaf_host_caps.flags & UAAF_CAP_USABLE)
		on_each_cpu(uaaf_invept_one_cpu, s, 1);
	for (i = 0; i < s->nr_views; i++) {
		uaaf_view_free(s->views[s->view_idx[i]]);
		s->views[s->view_idx[i]] = NULL;
	}
	s->nr_views = 0;
	ept_destroy(&s->empty);
	free_page((unsigned long)s->list);
	s->list = NULL;
	kvm_put_kvm(s->kvm);
	s->kvm = NULL;
	s->vcpu = NULL;
	s->state = UAAF_STATE_DETACHED;
}

/* ---- other ioctls ----------------------------------------------------- */

static int uaaf_enable(struct uaaf_session *s)
{
	if (s->state == UAAF_STATE_DETACHED)
		return -ENOTCONN;
	if (!(uaaf_host_caps.flags & UAAF_CAP_USABLE) || !uaaf_hooked)
		return -EOPNOTSUPP;
	if (s->state != UAAF_STATE_ATTACHED)
		return -EBUSY;
	/*
	 * Slot 0 must be the module-built session view: KVM's own EPT maps
	 * every memslot (all libraries' memory too) and never enters the list.
	 */
	if (!s->views[UAAF_VIEW_SESSION])
		return -ENOENT;
	s->state = UAAF_STATE_ENABLED;
	smp_store_release(&s->hw, UAAF_HW_ON);
	kvm_vcpu_kick(s->vcpu);
	return 0;
}

static int uaaf_status(struct uaaf_session *s, void __user *uarg)
{
	struct uaaf_status st = { 0 };
	unsigned long flags;

	st.state = s->state;
	if (s->state != UAAF_STATE_DETACHED) {
		if (smp_load_acquire(&s->faulted))
			st.state = UAAF_STATE_FAULTED;
		st.nr_views = s->nr_views;
		raw_spin_lock_irqsave(&s->stat_lock, flags);
		st.active_view = READ_ONCE(s->active_view);
		st.fault_view = s->fault_view;
		st.fault_exit_reason = s->fault_reason;
		st.fault_gpa = s->fault_gpa;
		st.fault_qualification = s->fault_qual;
		st.entries = s->entries;
		st.exits = s->exits;
		raw_spin_unlock_irqrestore(&s->stat_lock, flags);
	}
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long uaaf_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct uaaf_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	long err;

	switch (cmd) {
	case UAAF_IOC_VERSION: {
		struct uaaf_version v = { .api_version = UAAF_API_VERSION };

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case UAAF_IOC_CAPS:
		return copy_to_user(uarg, &uaaf_host_caps,
				    sizeof(uaaf_host_caps)) ? -EFAULT : 0;
	}

	mutex_lock(&s->lock);
	switch (cmd) {
	case UAAF_IOC_ATTACH:
		err = uaaf_attach(s, uarg);
		break;
	case UAAF_IOC_DEFINE_VIEW:
		err = uaaf_define_view(s, uarg);
		break;
	case UAAF_IOC_ENABLE:
		err = uaaf_enable(s);
		break;
	case UAAF_IOC_STATUS:
		err = uaaf_status(s, uarg);
		break;
	case UAAF_IOC_DETACH:
		err = s->state == UAAF_STATE_DETACHED ? -ENOTCONN : 0;
		uaaf_detach(s);
		break;
	default:
		err = -ENOTTY;
	}
	mutex_unlock(&s->lock);
	return err;
}

static int uaaf_open(struct inode *inode, struct file *file)
{
	struct uaaf_session *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);

	if (!s)
		return -ENOMEM;
	mutex_init(&s->lock);
	raw_spin_lock_init(&s->stat_lock);
	init_completion(&s->scrubbed);
	s->state = UAAF_STATE_DETACHED;
	file->private_data = s;
	return 0;
}

static int uaaf_release(struct inode *inode, struct file *file)
{
	struct uaaf_session *s = file->private_data;

	mutex_lock(&s->lock);
	uaaf_detach(s);
	mutex_unlock(&s->lock);
	kfree(s);
	return 0;
}

static const struct file_operations uaaf_fops = {
	.owner = THIS_MODULE,
	.open = uaaf_open,
	.release = uaaf_release,
	.unlocked_ioctl = uaaf_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice uaaf_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "uaaf",
	.fops = &uaaf_fops,
	.mode = 0600,
};

static int __init uaaf_init(void)
{
	int err;

	uaaf_probe_caps(&uaaf_host_caps);
	if (uaaf_host_caps.flags & UAAF_CAP_USABLE) {
		err = uaaf_hooks_register();
		if (err) {
			pr_warn("cannot hook kvm_entry/kvm_exit: %d\n", err);
			uaaf_host_caps.flags &= ~UAAF_CAP_USABLE;
			uaaf_host_caps.reason = UAAF_REASON_KVM_ENTRY_ABI;
			strscpy(uaaf_host_caps.reason_str,
				"kvm_entry/kvm_exit tracepoints not hookable",
				sizeof(uaaf_host_caps.reason_str));
		} else {
			uaaf_hooked = true;
		}
	}
	err = misc_register(&uaaf_misc);
	if (err) {
		if (uaaf_hooked)
			uaaf_hooks_unregister();
		return err;
	}
	if (uaaf_hooked)
		pr_info("EPTP switching available (API %d)\n", UAAF_API_VERSION);
	else
		pr_info("EPTP switching unavailable: %s\n",
			uaaf_host_caps.reason_str);
	return 0;
}

static void __exit uaaf_exit(void)
{
	misc_deregister(&uaaf_misc);
	if (uaaf_hooked)
		uaaf_hooks_unregister();
}

module_init(uaaf_init);
module_exit(uaaf_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("uaaf authors");
MODULE_DESCRIPTION("EPTP list for VMFUNC EPTP switching on KVM vCPUs");
