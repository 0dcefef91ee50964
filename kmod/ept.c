// SPDX-License-Identifier: GPL-2.0
/*
 * ept.c - build, query and free the EPT hierarchies behind uaaf views, and
 * validate what userspace asks a view to contain.
 *
 * Shared between the module and the userspace test (see ept.h). Nothing here
 * touches VMX state: building a view only writes ordinary memory, and a view
 * becomes reachable by the hardware only when main.c stores its EPTP in the
 * EPTP list, after construction has finished. Tables are never modified once
 * reachable, so no INVEPT is needed until teardown.
 */
#include "ept.h"

int ept_init(struct ept_table *t, const struct ept_ops *ops, void *ctx)
{
	t->ops = ops;
	t->ctx = ctx;
	t->nr_tables = 0;
	t->nr_leaves = 0;
	t->root = ops->alloc_table(ctx, &t->root_hpa);
	if (!t->root)
		return -ENOMEM;
	t->nr_tables = 1;
	return 0;
}

/* Free @table (of the given level) and every table below it; count them. */
static unsigned int ept_free_level(struct ept_table *t, u64 *table, int level)
{
	unsigned int freed = 0;
	unsigned int i;

	if (level > 1) {
		for (i = 0; i < EPT_ENTRIES; i++) {
			u64 e = table[i];

			if (!(e & EPTE_RWX))
				continue;
			freed += ept_free_level(t, t->ops->table_va(t->ctx,
						e & EPTE_ADDR_MASK), level - 1);
		}
	}
	t->ops->free_table(t->ctx, table);
	return freed + 1;
}

/*
 * Free every table page of @t and return how many were freed (equal to the
 * nr_tables the table had). The leaf pages themselves belong to the caller.
 */
unsigned int ept_destroy(struct ept_table *t)
{
	unsigned int freed;

	if (!t->root)
		return 0;
	freed = ept_free_level(t, t->root, EPT_LEVELS);
	t->root = NULL;
	t->root_hpa = 0;
	t->nr_tables = 0;
	t->nr_leaves = 0;
	return freed;
}

/*
 * Leaf entry for a 4 KiB page: the requested permissions, write-back memory
 * type and "ignore PAT" (views map only ordinary RAM, never MMIO, so the
 * guest's PAT must not be able to make it uncached), accessed/dirty clear.
 */
u64 ept_leaf(u64 hpa, u32 perms)
{
	u64 e = (hpa & EPTE_ADDR_MASK) | EPTE_MT_WB | EPTE_IPAT;

	if (perms & UAAF_PERM_R)
		e |= EPTE_R;
	if (perms & UAAF_PERM_W)
		e |= EPTE_W;
	if (perms & UAAF_PERM_X)
		e |= EPTE_X;
	return e;
}

/*
 * Install a 4 KiB leaf gpa -> hpa. Intermediate entries are RWX: the leaf
 * alone decides the access. Mapping an already mapped GPA is -EEXIST, so a
 * view can never silently change what a page points to.
 */
int ept_map_4k(struct ept_table *t, u64 gpa, u64 hpa, u32 perms)
{
	u64 *table = t->root;
	int level;

	if ((gpa | hpa) & (EPT_PAGE_SIZE - 1) || gpa >= EPT_GPA_LIMIT)
		return -EINVAL;
	if (hpa & ~EPTE_ADDR_MASK)
		return -EINVAL;
	if (ept_check_perms(perms, true))
		return -EINVAL;

	for (level = EPT_LEVELS; level > 1; level--) {
		u64 *slot = &table[ept_index(gpa, level)];

		if (!(*slot & EPTE_RWX)) {
			u64 next_hpa;
			u64 *next = t->ops->alloc_table(t->ctx, &next_hpa);

			if (!next)
				return -ENOMEM;
			t->nr_tables++;
			*slot = (next_hpa & EPTE_ADDR_MASK) | EPTE_RWX;
			table = next;
		} else {
			table = t->ops->table_va(t->ctx, *slot & EPTE_ADDR_MASK);
		}
	}

	if (table[ept_index(gpa, 1)] & EPTE_RWX)
		return -EEXIST;
	table[ept_index(gpa, 1)] = ept_leaf(hpa, perms);
	t->nr_leaves++;
	return 0;
}

/* The leaf entry that translates @gpa, or 0 when it is not mapped. */
u64 ept_lookup(const struct ept_table *t, u64 gpa)
{
	const u64 *table = t->root;
	int level;

	if (!table || gpa >= EPT_GPA_LIMIT)
		return 0;
	for (level = EPT_LEVELS; level > 1; level--) {
		u64 e = table[ept_index(gpa, level)];

		if (!(e & EPTE_RWX))
			return 0;
		table = t->ops->table_va(t->ctx, e & EPTE_ADDR_MASK);
	}
	return table[ept_index(gpa, 1)];
}

/* EPTP for @t: WB paging structures, 4-level walk, A/D flags disabled. */
u64 ept_eptp(const struct ept_table *t)
{
	return (t->root_hpa & EPTE_ADDR_MASK) | EPTP_WALK_4 | EPTP_MT_WB;
}

/*
 * A leaf must grant something, only R/W/X, never write without read (an EPT
 * misconfiguration), and execute-only only when the CPU supports it.
 */
int ept_check_perms(u32 perms, bool exec_only_ok)
{
	if (!perms || (perms & ~UAAF_PERM_MASK))
		return -EINVAL;
	if ((perms & UAAF_PERM_W) && !(perms & UAAF_PERM_R))
		return -EINVAL;
	if (perms == UAAF_PERM_X && !exec_only_ok)
		return -EINVAL;
	return 0;
}

/*
 * Every slot 0..511 is a module view: 0 is the session's (UAAF_VIEW_SESSION),
 * 1..511 are libraries'. KVM's own EPTP is never put in the list.
 */
int ept_check_view_index(u32 index)
{
	if (index > UAAF_VIEW_MAX)
		return -EINVAL;
	return 0;
}

/* [a, a + as) and [b, b + bs) intersect; callers checked neither wraps. */
static bool ept_overlap(u64 a, u64 as, u64 b, u64 bs)
{
	return a < b + bs && b < a + as;
}

static int ept_check_range(const struct uaaf_range *r, bool exec_only_ok,
			   ept_slot_lookup_fn lookup, void *ctx)
{
	struct ept_slot slot;
	u64 end, src_end;

	if (r->reserved)
		return -EINVAL;
	if (!r->size ||
	    ((r->gpa | r->src_gpa | r->size) & (EPT_PAGE_SIZE - 1)))
		return -EINVAL;
	/* The view side must fit the 4-level EPT ... */
	end = r->gpa + r->size;
	if (end < r->gpa || end > EPT_GPA_LIMIT)
		return -EOVERFLOW;
	/* ... and the source side must not wrap (memslots end below 2^64). */
	src_end = r->src_gpa + r->size;
	if (src_end < r->src_gpa)
		return -EOVERFLOW;
	if (ept_check_perms(r->perms, exec_only_ok))
		return -EINVAL;

	/* The whole source range must sit inside one memslot ... */
	if (lookup(ctx, r->src_gpa, &slot))
		return -ENOENT;
	if (r->src_gpa < slot.base_gpa ||
	    src_end - slot.base_gpa > slot.size)
		return -ENOENT;
	/* ... and ask for no permission the memslot does not grant. */
	if (r->perms & ~slot.perms)
		return -EACCES;
	return 0;
}

/*
 * Check a view's ranges before anything is pinned: each range is page
 * aligned (view and source side), non-empty, its view side below 2^48, has
 * valid permissions, its source side lies inside one memslot with at least
 * those permissions, and no two ranges overlap on either side (a view maps
 * every view GPA once and every source page once). Returns 0 or the first
 * error found (-EINVAL, -EOVERFLOW, -ENOENT, -EACCES, -EEXIST for an
 * overlap, -E2BIG for too many ranges).
 */
int ept_validate_ranges(const struct uaaf_range *r, u32 n, bool exec_only_ok,
			ept_slot_lookup_fn lookup, void *ctx)
{
	u32 i, j;
	int err;

	if (!n)
		return -EINVAL;
	if (n > UAAF_MAX_RANGES)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		err = ept_check_range(&r[i], exec_only_ok, lookup, ctx);
		if (err)
			return err;
	}
	/* n is at most UAAF_MAX_RANGES, so the quadratic check is cheap. */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ept_overlap(r[i].gpa, r[i].size, r[j].gpa, r[j].size) ||
			    ept_overlap(r[i].src_gpa, r[i].size,
					r[j].src_gpa, r[j].size))
				return -EEXIST;
	return 0;
}

/*
 * Map one validated range: view GPA r->gpa + off -> the host page behind
 * KVM GPA r->src_gpa + off, for every page of the range, with r->perms.
 * On error the leaves installed so far stay in @t; the caller destroys it.
 */
int ept_map_range(struct ept_table *t, const struct uaaf_range *r,
		  ept_src_hpa_fn src_hpa, void *ctx)
{
	u64 off;
	int err;

	for (off = 0; off < r->size; off += EPT_PAGE_SIZE) {
		u64 hpa = src_hpa(ctx, r, off);

		if (!hpa)
			return -EFAULT;
		err = ept_map_4k(t, r->gpa + off, hpa, r->perms);
		if (err)
			return err;
	}
	return 0;
}

/* Point every slot of a fresh EPTP list at the empty EPT. */
void eptp_list_init(u64 *list, u64 empty_eptp)
{
	unsigned int i;

	for (i = 0; i < UAAF_EPTP_ENTRIES; i++)
		list[i] = empty_eptp;
}

/* Store a view's EPTP in its slot (0..511). */
int eptp_list_set(u64 *list, u32 index, u64 eptp)
{
	if (ept_check_view_index(index))
		return -EINVAL;
	list[index] = eptp;
	return 0;
}
