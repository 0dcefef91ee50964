/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ept.h - EPT table construction and view validation for uaaf.
 *
 * Everything declared here is plain C with no kernel dependency beyond the
 * few types below, so ept.c is compiled twice: into the module, and into the
 * userspace test program test/ept_test.c (where test/kshim.h supplies u64,
 * errno values and friends). Memory for table pages comes from a caller
 * supplied struct ept_ops, so the test can count every allocation and free.
 *
 * Layout facts (Intel SDM Vol. 3C, "EPT translation mechanism"): a 4-level
 * walk uses GPA bits 47:39 (PML4), 38:30 (PDPT), 29:21 (PD) and 20:12 (PT);
 * every entry has R/W/X in bits 2:0; a leaf adds the memory type in bits 5:3
 * and "ignore PAT" in bit 6; bits 8/9 are accessed/dirty flags, which are
 * left clear because views are used with A/D disabled in the EPTP.
 */
#ifndef _UAAF_EPT_H
#define _UAAF_EPT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include "test/kshim.h"
#endif

#include "uaaf_uapi.h"

#define EPT_LEVELS		4
#define EPT_ENTRIES		512
#define EPT_PAGE_SHIFT		12
#define EPT_PAGE_SIZE		(1ull << EPT_PAGE_SHIFT)
/* A 4-level EPT translates 48 bits of guest-physical address. */
#define EPT_GPA_LIMIT		(1ull << 48)

/* EPT paging-structure entry bits. */
#define EPTE_R			(1ull << 0)
#define EPTE_W			(1ull << 1)
#define EPTE_X			(1ull << 2)
#define EPTE_RWX		(EPTE_R | EPTE_W | EPTE_X)
#define EPTE_MT_SHIFT		3
#define EPTE_MT_MASK		(7ull << EPTE_MT_SHIFT)
#define EPTE_MT_WB		(6ull << EPTE_MT_SHIFT)
#define EPTE_IPAT		(1ull << 6)
#define EPTE_LARGE		(1ull << 7)
#define EPTE_ACCESSED		(1ull << 8)
#define EPTE_DIRTY		(1ull << 9)
#define EPTE_ADDR_MASK		0x000ffffffffff000ull

/* EPT pointer bits. */
#define EPTP_MT_WB		6ull
#define EPTP_WALK_4		(3ull << 3)	/* page-walk length minus one */
#define EPTP_AD_ENABLE		(1ull << 6)

/*
 * Allocator for table pages. alloc_table returns a zeroed, 4 KiB aligned
 * page and stores its host-physical address in *hpa, or returns NULL.
 * table_va maps a host-physical address from alloc_table back to the page.
 */
struct ept_ops {
	void *(*alloc_table)(void *ctx, u64 *hpa);
	void (*free_table)(void *ctx, void *va);
	void *(*table_va)(void *ctx, u64 hpa);
};

/* One EPT hierarchy (a view, or the empty EPT when nothing is mapped). */
struct ept_table {
	const struct ept_ops *ops;
	void *ctx;
	u64 *root;		/* PML4 page */
	u64 root_hpa;
	unsigned int nr_tables;	/* table pages owned, root included */
	unsigned long nr_leaves;	/* 4 KiB leaves installed */
};

/*
 * What the memslot lookup reports for the slot that contains a GPA: its
 * extent and the permissions KVM itself grants there (R and X always, W
 * unless the slot is KVM_MEM_READONLY).
 */
struct ept_slot {
	u64 base_gpa;
	u64 size;
	u32 perms;		/* UAAF_PERM_* */
};

/* Returns 0 and fills *slot, or -ENOENT when no memslot holds gpa. */
typedef int (*ept_slot_lookup_fn)(void *ctx, u64 gpa, struct ept_slot *slot);

/*
 * Host-physical address of the page that backs KVM GPA r->src_gpa + off
 * (off a page multiple below r->size), or 0 when it is unknown.
 */
typedef u64 (*ept_src_hpa_fn)(void *ctx, const struct uaaf_range *r, u64 off);

/* Index into the table of the given level (4 = PML4 ... 1 = PT). */
static inline unsigned int ept_index(u64 gpa, int level)
{
	return (unsigned int)(gpa >> (EPT_PAGE_SHIFT + 9 * (level - 1))) &
	       (EPT_ENTRIES - 1);
}

int ept_init(struct ept_table *t, const struct ept_ops *ops, void *ctx);
unsigned int ept_destroy(struct ept_table *t);
int ept_map_4k(struct ept_table *t, u64 gpa, u64 hpa, u32 perms);
u64 ept_lookup(const struct ept_table *t, u64 gpa);
u64 ept_leaf(u64 hpa, u32 perms);
u64 ept_eptp(const struct ept_table *t);

int ept_check_perms(u32 perms, bool exec_only_ok);
int ept_check_view_index(u32 index);
int ept_validate_ranges(const struct uaaf_range *r, u32 n, bool exec_only_ok,
			ept_slot_lookup_fn lookup, void *ctx);
int ept_map_range(struct ept_table *t, const struct uaaf_range *r,
		  ept_src_hpa_fn src_hpa, void *ctx);

void eptp_list_init(u64 *list, u64 empty_eptp);
int eptp_list_set(u64 *list, u32 index, u64 eptp);

#endif /* _UAAF_EPT_H */
