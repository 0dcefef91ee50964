/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uaaf.h - internal declarations shared by the module's source files.
 */
#ifndef _UAAF_H
#define _UAAF_H

#include <linux/completion.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "ept.h"
#include "uaaf_uapi.h"

/* Pages pinned for one range of a view. */
struct uaaf_pin {
	struct page **pages;
	unsigned long nr;	/* pages actually pinned */
	bool dirty;		/* pinned FOLL_WRITE: mark dirty on unpin */
};

/* One view: its EPT hierarchy and the guest pages it maps. */
struct uaaf_view_state {
	struct ept_table ept;
	u64 eptp;
	u32 nr_pins;
	struct uaaf_pin *pins;
};

/*
 * What the tracepoint probes do for a session (uaaf_session.hw). Written
 * with smp_store_release() by ioctls and by the probes themselves.
 */
enum uaaf_hw {
	UAAF_HW_OFF,		/* ignore this vCPU; VMCS holds nothing of ours */
	UAAF_HW_ON,		/* run the entry/exit protocol (or, once faulted, keep the VM dead) */
	UAAF_HW_SCRUB,		/* teardown asked the next probe to scrub the VMCS */
};

/* Return values of uaaf_root_index() besides a view index. */
#define UAAF_ROOT_NOT_OURS	(-1)
#define UAAF_ROOT_EMPTY		(-2)

/*
 * One open file of /dev/uaaf: at most one attached vCPU.
 *
 * lock serialises the ioctls of this file. The fields under "vCPU thread"
 * are touched only by the probes (on the vCPU's thread, IRQs off, its VMCS
 * current) or by teardown while it holds vcpu->mutex, which excludes the
 * probes because KVM_RUN holds that mutex.
 */
struct uaaf_session {
	struct mutex lock;
	u32 state;			/* UAAF_STATE_* */
	struct kvm *kvm;		/* reference held while attached */
	struct kvm_vcpu *vcpu;
	struct hlist_node hnode;	/* in uaaf_vcpus, keyed by vcpu */
	bool hashed;

	u64 *list;			/* the EPTP list page; slot 0 = views[0] */
	u64 list_pa;
	struct ept_table empty;		/* zeroed PML4 for unused slots */
	u64 empty_eptp;
	struct uaaf_view_state *views[UAAF_EPTP_ENTRIES];
	u32 nr_views;
	u16 view_idx[UAAF_EPTP_ENTRIES];	/* defined indices, compact */

	int hw;				/* enum uaaf_hw */
	bool faulted;			/* a fatal exit was seen; set once by a probe */
	struct completion scrubbed;

	/* vCPU thread */
	u64 kvm_eptp;			/* KVM's own EPTP; never in the list */
	u32 saved_view;			/* view to re-install at next entry */
	bool touched;			/* VMCS holds our controls */
	bool orig_vmfunc_bit;		/* secondary control bit 13 before us */
	u64 orig_vmfunc_ctl;		/* VM_FUNCTION_CONTROL before us */
	u64 orig_list_addr;		/* EPTP_LIST_ADDRESS before us */

	/* status, under stat_lock (a raw lock: probes run with IRQs off) */
	raw_spinlock_t stat_lock;
	u32 active_view;
	u32 fault_view;
	u32 fault_reason;
	u64 fault_gpa;
	u64 fault_qual;
	u64 entries;
	u64 exits;
};

/* caps.c */
extern struct uaaf_caps uaaf_host_caps;
void uaaf_probe_caps(struct uaaf_caps *caps);

/* hooks.c */
int uaaf_hooks_register(void);
void uaaf_hooks_unregister(void);
int uaaf_hash_add(struct uaaf_session *s);
void uaaf_hash_del(struct uaaf_session *s);
void uaaf_scrub_vmcs(struct uaaf_session *s);
int uaaf_root_index(const struct uaaf_session *s, u64 eptp);

#endif /* _UAAF_H */
