// SPDX-License-Identifier: GPL-2.0
/*
 * ept_test.c - userspace tests for ept.c (the module's EPT construction and
 * view validation). Built with the host compiler by `make -C kmod test`.
 * Table pages come from a counting allocator whose "host-physical address"
 * is the page's own user address, so every entry can be followed and every
 * allocation matched with a free. Prints one line per test and, last,
 * "N passed, M failed"; exits non-zero when M > 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ept.h"

static int passed, failed;
static const char *cur_test;
static int cur_failed;

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "  %s:%d: %s: check failed: %s\n", \
				__FILE__, __LINE__, cur_test, #cond);	\
			cur_failed = 1;					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		unsigned long long _a = (unsigned long long)(a);	\
		unsigned long long _b = (unsigned long long)(b);	\
		if (_a != _b) {						\
			fprintf(stderr, "  %s:%d: %s: %s = %#llx, want %#llx\n", \
				__FILE__, __LINE__, cur_test, #a, _a, _b); \
			cur_failed = 1;					\
		}							\
	} while (0)

static void begin(const char *name)
{
	cur_test = name;
	cur_failed = 0;
}

static void end(void)
{
	if (cur_failed) {
		failed++;
		printf("FAIL %s\n", cur_test);
	} else {
		passed++;
		printf("ok   %s\n", cur_test);
	}
}

/* ---- counting allocator ---------------------------------------------- */

struct counter {
	unsigned int allocs;
	unsigned int frees;
	int fail_at;		/* fail the allocation with this 1-based number */
};

static void *t_alloc(void *ctx, u64 *hpa)
{
	struct counter *c = ctx;
	void *p;

	if (c->fail_at && (int)c->allocs + 1 == c->fail_at)
		return NULL;
	p = aligned_alloc(EPT_PAGE_SIZE, EPT_PAGE_SIZE);
	if (!p)
		return NULL;
	memset(p, 0, EPT_PAGE_SIZE);
	c->allocs++;
	*hpa = (u64)(uintptr_t)p;
	return p;
}

static void t_free(void *ctx, void *va)
{
	struct counter *c = ctx;

	c->frees++;
	free(va);
}

static void *t_va(void *ctx, u64 hpa)
{
	(void)ctx;
	return (void *)(uintptr_t)hpa;
}

static const struct ept_ops test_ops = {
	.alloc_table = t_alloc,
	.free_table = t_free,
	.table_va = t_va,
};

static u64 *entry_table(u64 e)
{
	return (u64 *)(uintptr_t)(e & EPTE_ADDR_MASK);
}

/* ---- fake memslots ---------------------------------------------------- */

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static const struct ept_slot test_slots[] = {
	{ .base_gpa = 0, .size = 16 * MiB,
	  .perms = UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X },
	{ .base_gpa = 16 * MiB, .size = 16 * MiB,	/* adjacent slot */
	  .perms = UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X },
	{ .base_gpa = 1 * GiB, .size = 2 * MiB,		/* KVM_MEM_READONLY */
	  .perms = UAAF_PERM_R | UAAF_PERM_X },
};

static int t_lookup(void *ctx, u64 gpa, struct ept_slot *slot)
{
	unsigned int i;

	(void)ctx;
	for (i = 0; i < sizeof(test_slots) / sizeof(test_slots[0]); i++) {
		const struct ept_slot *s = &test_slots[i];

		if (gpa >= s->base_gpa && gpa - s->base_gpa < s->size) {
			*slot = *s;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- tests ------------------------------------------------------------ */

static void test_shape(void)
{
	struct counter c = { 0 };
	struct ept_table t;
	const u64 gpa = (3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12);
	const u64 hpa = 0xabcde000ull;
	u64 *pdpt, *pd, *pt, leaf;
	unsigned int i, nonzero = 0;

	begin("shape: 4 levels, indices, intermediate RWX, leaf bits");
	CHECK_EQ(ept_index(gpa, 4), 3);
	CHECK_EQ(ept_index(gpa, 3), 5);
	CHECK_EQ(ept_index(gpa, 2), 7);
	CHECK_EQ(ept_index(gpa, 1), 9);
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	CHECK_EQ(ept_map_4k(&t, gpa, hpa, UAAF_PERM_R | UAAF_PERM_X), 0);
	CHECK_EQ(t.nr_tables, 4);
	CHECK_EQ(c.allocs, 4);
	CHECK_EQ(t.nr_leaves, 1);

	for (i = 0; i < EPT_ENTRIES; i++)
		nonzero += t.root[i] != 0;
	CHECK_EQ(nonzero, 1);
	CHECK_EQ(t.root[3] & ~EPTE_ADDR_MASK, EPTE_RWX);
	pdpt = entry_table(t.root[3]);
	CHECK_EQ(pdpt[5] & ~EPTE_ADDR_MASK, EPTE_RWX);
	pd = entry_table(pdpt[5]);
	CHECK_EQ(pd[7] & ~EPTE_ADDR_MASK, EPTE_RWX);
	pt = entry_table(pd[7]);
	leaf = pt[9];
	CHECK_EQ(leaf & EPTE_ADDR_MASK, hpa);
	CHECK_EQ(leaf & EPTE_RWX, EPTE_R | EPTE_X);
	CHECK_EQ(leaf & EPTE_MT_MASK, EPTE_MT_WB);
	CHECK(leaf & EPTE_IPAT);
	CHECK(!(leaf & (EPTE_ACCESSED | EPTE_DIRTY | EPTE_LARGE)));
	CHECK_EQ(ept_lookup(&t, gpa), leaf);
	CHECK_EQ(ept_lookup(&t, gpa + EPT_PAGE_SIZE), 0);
	CHECK_EQ(ept_lookup(&t, gpa ^ (1ull << 39)), 0);
	CHECK_EQ(ept_destroy(&t), 4);
	CHECK_EQ(c.frees, 4);
	end();
}

static void test_eptp(void)
{
	struct counter c = { 0 };
	struct ept_table t;
	u64 eptp;

	begin("eptp: WB, 4-level walk, A/D disabled, root address");
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	eptp = ept_eptp(&t);
	CHECK_EQ(eptp & 7, 6);			/* memory type WB */
	CHECK_EQ((eptp >> 3) & 7, 3);		/* walk length 4 */
	CHECK(!(eptp & EPTP_AD_ENABLE));
	CHECK_EQ(eptp & EPTE_ADDR_MASK, t.root_hpa);
	CHECK_EQ(eptp & 0xf80, 0);		/* reserved bits 11:7 */
	CHECK_EQ(ept_destroy(&t), 1);
	CHECK_EQ(c.frees, c.allocs);
	end();
}

static void test_leaf_perms(void)
{
	static const struct {
		const char *name;
		u32 perms;
		u64 rwx;
	} cases[] = {
		{ "leaf perms: R", UAAF_PERM_R, EPTE_R },
		{ "leaf perms: RW", UAAF_PERM_R | UAAF_PERM_W, EPTE_R | EPTE_W },
		{ "leaf perms: RX", UAAF_PERM_R | UAAF_PERM_X, EPTE_R | EPTE_X },
		{ "leaf perms: RWX", UAAF_PERM_MASK, EPTE_RWX },
		{ "leaf perms: X (execute-only)", UAAF_PERM_X, EPTE_X },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u64 e = ept_leaf(0x5000, cases[i].perms);

		begin(cases[i].name);
		CHECK_EQ(e & EPTE_RWX, cases[i].rwx);
		CHECK_EQ(e & EPTE_ADDR_MASK, 0x5000);
		CHECK_EQ(e & ~(EPTE_ADDR_MASK | EPTE_RWX), EPTE_MT_WB | EPTE_IPAT);
		end();
	}
}

static void test_perm_rules(void)
{
	static const struct {
		const char *name;
		u32 perms;
		bool exec_only;
		int want;
	} cases[] = {
		{ "perm rule: none rejected", 0, true, -EINVAL },
		{ "perm rule: W only rejected", UAAF_PERM_W, true, -EINVAL },
		{ "perm rule: WX rejected", UAAF_PERM_W | UAAF_PERM_X, true, -EINVAL },
		{ "perm rule: X only without cap", UAAF_PERM_X, false, -EINVAL },
		{ "perm rule: X only with cap", UAAF_PERM_X, true, 0 },
		{ "perm rule: unknown bit", UAAF_PERM_R | 8, true, -EINVAL },
		{ "perm rule: R", UAAF_PERM_R, false, 0 },
		{ "perm rule: RWX", UAAF_PERM_MASK, false, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		begin(cases[i].name);
		CHECK_EQ(ept_check_perms(cases[i].perms, cases[i].exec_only),
			 (u64)(long long)cases[i].want);
		end();
	}
}

static void test_map_errors(void)
{
	struct counter c = { 0 };
	struct ept_table t;

	begin("map: rejects unaligned, >= 2^48, bad perms, remap");
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	CHECK_EQ(ept_map_4k(&t, 0x1001, 0x2000, UAAF_PERM_R), (u64)-EINVAL);
	CHECK_EQ(ept_map_4k(&t, 0x1000, 0x2001, UAAF_PERM_R), (u64)-EINVAL);
	CHECK_EQ(ept_map_4k(&t, EPT_GPA_LIMIT, 0x2000, UAAF_PERM_R),
		 (u64)-EINVAL);
	CHECK_EQ(ept_map_4k(&t, 0x1000, 1ull << 52, UAAF_PERM_R),
		 (u64)-EINVAL);
	CHECK_EQ(ept_map_4k(&t, 0x1000, 0x2000, UAAF_PERM_W), (u64)-EINVAL);
	CHECK_EQ(ept_map_4k(&t, 0x1000, 0x2000, UAAF_PERM_R), 0);
	CHECK_EQ(ept_map_4k(&t, 0x1000, 0x3000, UAAF_PERM_R), (u64)-EEXIST);
	CHECK_EQ(ept_lookup(&t, 0x1000) & EPTE_ADDR_MASK, 0x2000);
	CHECK_EQ(ept_destroy(&t), c.allocs);
	CHECK_EQ(c.frees, c.allocs);
	end();
}

static void test_table_sharing(void)
{
	struct counter c = { 0 };
	struct ept_table t;

	begin("shape: tables shared within a PT, new ones per PML4 entry");
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	CHECK_EQ(ept_map_4k(&t, 0x0000, 0x10000, UAAF_PERM_R), 0);
	CHECK_EQ(ept_map_4k(&t, 0x1000, 0x11000, UAAF_PERM_R), 0);
	CHECK_EQ(t.nr_tables, 4);
	CHECK_EQ(ept_map_4k(&t, 2 * MiB, 0x12000, UAAF_PERM_R), 0);
	CHECK_EQ(t.nr_tables, 5);		/* new PT */
	CHECK_EQ(ept_map_4k(&t, 1 * GiB, 0x13000, UAAF_PERM_R), 0);
	CHECK_EQ(t.nr_tables, 7);		/* new PD + PT */
	CHECK_EQ(ept_map_4k(&t, 1ull << 39, 0x14000, UAAF_PERM_R), 0);
	CHECK_EQ(t.nr_tables, 10);		/* new PDPT + PD + PT */
	CHECK_EQ(t.nr_leaves, 5);
	CHECK_EQ(c.allocs, t.nr_tables);
	CHECK_EQ(ept_destroy(&t), 10);
	CHECK_EQ(c.frees, 10);
	end();
}

static void test_validate(void)
{
	static const struct {
		const char *name;
		struct uaaf_range r[2];
		u32 n;
		int want;
	} cases[] = {
		{ "ranges: one RWX range in a RW memslot",
		  { { 0x100000, 0x10000, UAAF_PERM_MASK, 0 } }, 1, 0 },
		{ "ranges: RO memslot cannot become writable",
		  { { 1 * GiB, 0x1000, UAAF_PERM_R | UAAF_PERM_W, 0 } }, 1,
		  -EACCES },
		{ "ranges: RO memslot readable and executable",
		  { { 1 * GiB, 2 * MiB, UAAF_PERM_R | UAAF_PERM_X, 0 } }, 1, 0 },
		{ "ranges: unaligned gpa",
		  { { 0x100800, 0x1000, UAAF_PERM_R, 0 } }, 1, -EINVAL },
		{ "ranges: unaligned size",
		  { { 0x100000, 0x1800, UAAF_PERM_R, 0 } }, 1, -EINVAL },
		{ "ranges: empty range",
		  { { 0x100000, 0, UAAF_PERM_R, 0 } }, 1, -EINVAL },
		{ "ranges: gpa + size wraps",
		  { { 0xfffffffffffff000ull, 0x2000, UAAF_PERM_R, 0 } }, 1,
		  -EOVERFLOW },
		{ "ranges: end beyond 2^48",
		  { { EPT_GPA_LIMIT - 0x1000, 0x2000, UAAF_PERM_R, 0 } }, 1,
		  -EOVERFLOW },
		{ "ranges: outside every memslot",
		  { { 512 * MiB, 0x1000, UAAF_PERM_R, 0 } }, 1, -ENOENT },
		{ "ranges: runs past the memslot end",
		  { { 1 * GiB + 2 * MiB - 0x1000, 0x2000, UAAF_PERM_R, 0 } }, 1,
		  -ENOENT },
		{ "ranges: spans two memslots",
		  { { 16 * MiB - 0x1000, 0x2000, UAAF_PERM_R, 0 } }, 1, -ENOENT },
		{ "ranges: overlap rejected",
		  { { 0x100000, 0x3000, UAAF_PERM_R, 0 },
		    { 0x102000, 0x1000, UAAF_PERM_R, 0 } }, 2, -EEXIST },
		{ "ranges: identical ranges rejected",
		  { { 0x100000, 0x1000, UAAF_PERM_R, 0 },
		    { 0x100000, 0x1000, UAAF_PERM_R, 0 } }, 2, -EEXIST },
		{ "ranges: adjacent ranges accepted",
		  { { 0x100000, 0x2000, UAAF_PERM_R, 0 },
		    { 0x102000, 0x1000, UAAF_PERM_R | UAAF_PERM_W, 0 } }, 2, 0 },
		{ "ranges: reserved field must be zero",
		  { { 0x100000, 0x1000, UAAF_PERM_R, 1 } }, 1, -EINVAL },
		{ "ranges: invalid perms (W without R)",
		  { { 0x100000, 0x1000, UAAF_PERM_W, 0 } }, 1, -EINVAL },
		{ "ranges: zero ranges",
		  { { 0 } }, 0, -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		begin(cases[i].name);
		CHECK_EQ(ept_validate_ranges(cases[i].r, cases[i].n, false,
					     t_lookup, NULL),
			 (u64)(long long)cases[i].want);
		end();
	}
}

static void test_range_count(void)
{
	static struct uaaf_range r[UAAF_MAX_RANGES + 1];
	unsigned int i;

	for (i = 0; i < UAAF_MAX_RANGES + 1; i++) {
		r[i].gpa = (u64)i * 2 * EPT_PAGE_SIZE;
		r[i].size = EPT_PAGE_SIZE;
		r[i].perms = UAAF_PERM_R;
	}
	begin("ranges: UAAF_MAX_RANGES accepted, one more is -E2BIG");
	CHECK_EQ(ept_validate_ranges(r, UAAF_MAX_RANGES, false, t_lookup, NULL),
		 0);
	CHECK_EQ(ept_validate_ranges(r, UAAF_MAX_RANGES + 1, false, t_lookup,
				     NULL), (u64)-E2BIG);
	end();
}

static void test_list_bounds(void)
{
	static u64 list[UAAF_EPTP_ENTRIES];
	const u64 empty = 0x7000 | EPTP_WALK_4 | EPTP_MT_WB;
	unsigned int i, bad = 0;

	begin("eptp list: 512 slots, views 1..511, slot 0 and 512 refused");
	CHECK_EQ(UAAF_EPTP_ENTRIES * sizeof(u64), EPT_PAGE_SIZE);
	eptp_list_init(list, empty);
	for (i = 0; i < UAAF_EPTP_ENTRIES; i++)
		bad += list[i] != empty;
	CHECK_EQ(bad, 0);
	CHECK_EQ(ept_check_view_index(0), (u64)-EINVAL);
	CHECK_EQ(ept_check_view_index(1), 0);
	CHECK_EQ(ept_check_view_index(511), 0);
	CHECK_EQ(ept_check_view_index(512), (u64)-EINVAL);
	CHECK_EQ(ept_check_view_index(0xffffffffu), (u64)-EINVAL);
	CHECK_EQ(eptp_list_set(list, 0, 0x9000), (u64)-EINVAL);
	CHECK_EQ(eptp_list_set(list, 512, 0x9000), (u64)-EINVAL);
	CHECK_EQ(list[0], empty);
	CHECK_EQ(eptp_list_set(list, 1, 0x9000), 0);
	CHECK_EQ(eptp_list_set(list, 511, 0xa000), 0);
	CHECK_EQ(list[1], 0x9000);
	CHECK_EQ(list[511], 0xa000);
	CHECK_EQ(list[2], empty);
	end();
}

/* Build a view the way main.c does (ranges -> pages) and check it. */
static void test_view_build(void)
{
	static const struct uaaf_range r[] = {
		{ 0x100000, 0x4000, UAAF_PERM_R | UAAF_PERM_X, 0 },
		{ 0x200000, 0x2000, UAAF_PERM_R | UAAF_PERM_W, 0 },
		{ 1 * GiB, 0x1000, UAAF_PERM_R, 0 },
	};
	struct counter c = { 0 };
	struct ept_table t;
	unsigned int i;
	u64 off, fake_hpa = 0x40000000ull;

	begin("view: every range page mapped with its perms, nothing else");
	CHECK_EQ(ept_validate_ranges(r, 3, false, t_lookup, NULL), 0);
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	for (i = 0; i < 3; i++)
		for (off = 0; off < r[i].size; off += EPT_PAGE_SIZE) {
			CHECK_EQ(ept_map_4k(&t, r[i].gpa + off, fake_hpa,
					    r[i].perms), 0);
			fake_hpa += EPT_PAGE_SIZE;
		}
	CHECK_EQ(t.nr_leaves, 7);
	CHECK_EQ(ept_lookup(&t, 0x100000) & EPTE_RWX, EPTE_R | EPTE_X);
	CHECK_EQ(ept_lookup(&t, 0x103000) & EPTE_RWX, EPTE_R | EPTE_X);
	CHECK_EQ(ept_lookup(&t, 0x104000), 0);
	CHECK_EQ(ept_lookup(&t, 0x0ff000), 0);
	CHECK_EQ(ept_lookup(&t, 0x201000) & EPTE_RWX, EPTE_R | EPTE_W);
	CHECK_EQ(ept_lookup(&t, 0x202000), 0);
	CHECK_EQ(ept_lookup(&t, 1 * GiB) & EPTE_RWX, EPTE_R);
	CHECK_EQ(ept_lookup(&t, 0), 0);
	CHECK_EQ(ept_destroy(&t), c.allocs);
	CHECK_EQ(c.frees, c.allocs);
	end();
}

static void test_teardown_accounting(void)
{
	struct counter c = { 0 };
	struct ept_table t;
	unsigned int i, tables;
	u64 seed = 0x9e3779b97f4a7c15ull;

	begin("teardown: every table page of a sparse view is freed");
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	for (i = 0; i < 2000; i++) {
		u64 gpa;
		int err;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		gpa = seed & (EPT_GPA_LIMIT - 1) & ~(EPT_PAGE_SIZE - 1);
		err = ept_map_4k(&t, gpa, 0x1000, UAAF_PERM_R);
		CHECK(err == 0 || err == -EEXIST);
	}
	tables = t.nr_tables;
	CHECK_EQ(c.allocs, tables);
	CHECK(tables > 2000);
	CHECK_EQ(ept_destroy(&t), tables);
	CHECK_EQ(c.frees, c.allocs);
	CHECK(t.root == NULL);
	CHECK_EQ(ept_destroy(&t), 0);		/* idempotent */
	CHECK_EQ(c.frees, c.allocs);
	end();
}

static void test_alloc_failure(void)
{
	int fail_at;

	for (fail_at = 2; fail_at <= 4; fail_at++) {
		struct counter c = { .fail_at = fail_at };
		struct ept_table t;
		char name[80];

		snprintf(name, sizeof(name),
			 "teardown: allocation %d fails, no page leaks", fail_at);
		begin(name);
		CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
		CHECK_EQ(ept_map_4k(&t, 0x1000, 0x2000, UAAF_PERM_R),
			 (u64)-ENOMEM);
		CHECK_EQ(ept_lookup(&t, 0x1000), 0);
		CHECK_EQ(t.nr_tables, c.allocs);
		CHECK_EQ(ept_destroy(&t), c.allocs);
		CHECK_EQ(c.frees, c.allocs);
		end();
	}
	{
		struct counter c = { .fail_at = 1 };
		struct ept_table t;

		begin("teardown: root allocation failure");
		CHECK_EQ(ept_init(&t, &test_ops, &c), (u64)-ENOMEM);
		CHECK_EQ(ept_destroy(&t), 0);
		CHECK_EQ(c.allocs, 0);
		end();
	}
}

static void test_empty_ept(void)
{
	struct counter c = { 0 };
	struct ept_table t;
	unsigned int i, nonzero = 0;

	begin("empty EPT: one zeroed PML4, translates nothing");
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	for (i = 0; i < EPT_ENTRIES; i++)
		nonzero += t.root[i] != 0;
	CHECK_EQ(nonzero, 0);
	CHECK_EQ(ept_lookup(&t, 0), 0);
	CHECK_EQ(ept_lookup(&t, 0x100000), 0);
	CHECK_EQ(ept_destroy(&t), 1);
	CHECK_EQ(c.frees, 1);
	end();
}

int main(void)
{
	test_shape();
	test_eptp();
	test_leaf_perms();
	test_perm_rules();
	test_map_errors();
	test_table_sharing();
	test_validate();
	test_range_count();
	test_list_bounds();
	test_view_build();
	test_teardown_accounting();
	test_alloc_failure();
	test_empty_ept();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
