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
/* Where the monitor registers library k's RAM: 0x10000000000 + k * 4 GiB. */
#define LIB1 (0x10000000000ull + 1 * 4 * GiB)
#define LIB2 (0x10000000000ull + 2 * 4 * GiB)

/* Identity range (src_gpa == gpa) and relocated range. */
#define R(gpa, size, perms)		{ (gpa), (gpa), (size), (perms), 0 }
#define RS(gpa, src, size, perms)	{ (gpa), (src), (size), (perms), 0 }

static const struct ept_slot test_slots[] = {
	{ .base_gpa = 0, .size = 16 * MiB,
	  .perms = UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X },
	{ .base_gpa = 16 * MiB, .size = 16 * MiB,	/* adjacent slot */
	  .perms = UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X },
	{ .base_gpa = 1 * GiB, .size = 2 * MiB,		/* KVM_MEM_READONLY */
	  .perms = UAAF_PERM_R | UAAF_PERM_X },
	{ .base_gpa = LIB1, .size = 16 * MiB,		/* library 1's RAM */
	  .perms = UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X },
	{ .base_gpa = LIB2, .size = 16 * MiB,		/* library 2's RAM */
	  .perms = UAAF_PERM_R | UAAF_PERM_W | UAAF_PERM_X },
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
		struct uaaf_range r[3];
		u32 n;
		int want;
	} cases[] = {
		{ "ranges: one RWX range in a RW memslot",
		  { R(0x100000, 0x10000, UAAF_PERM_MASK) }, 1, 0 },
		{ "ranges: RO memslot cannot become writable",
		  { R(1 * GiB, 0x1000, UAAF_PERM_R | UAAF_PERM_W) }, 1,
		  -EACCES },
		{ "ranges: RO memslot readable and executable",
		  { R(1 * GiB, 2 * MiB, UAAF_PERM_R | UAAF_PERM_X) }, 1, 0 },
		{ "ranges: unaligned gpa",
		  { R(0x100800, 0x1000, UAAF_PERM_R) }, 1, -EINVAL },
		{ "ranges: unaligned size",
		  { R(0x100000, 0x1800, UAAF_PERM_R) }, 1, -EINVAL },
		{ "ranges: empty range",
		  { R(0x100000, 0, UAAF_PERM_R) }, 1, -EINVAL },
		{ "ranges: gpa + size wraps",
		  { R(0xfffffffffffff000ull, 0x2000, UAAF_PERM_R) }, 1,
		  -EOVERFLOW },
		{ "ranges: end beyond 2^48",
		  { R(EPT_GPA_LIMIT - 0x1000, 0x2000, UAAF_PERM_R) }, 1,
		  -EOVERFLOW },
		{ "ranges: outside every memslot",
		  { R(512 * MiB, 0x1000, UAAF_PERM_R) }, 1, -ENOENT },
		{ "ranges: runs past the memslot end",
		  { R(1 * GiB + 2 * MiB - 0x1000, 0x2000, UAAF_PERM_R) }, 1,
		  -ENOENT },
		{ "ranges: spans two memslots",
		  { R(16 * MiB - 0x1000, 0x2000, UAAF_PERM_R) }, 1, -ENOENT },
		{ "ranges: overlap rejected",
		  { R(0x100000, 0x3000, UAAF_PERM_R),
		    R(0x102000, 0x1000, UAAF_PERM_R) }, 2, -EEXIST },
		{ "ranges: identical ranges rejected",
		  { R(0x100000, 0x1000, UAAF_PERM_R),
		    R(0x100000, 0x1000, UAAF_PERM_R) }, 2, -EEXIST },
		{ "ranges: adjacent ranges accepted",
		  { R(0x100000, 0x2000, UAAF_PERM_R),
		    R(0x102000, 0x1000, UAAF_PERM_R | UAAF_PERM_W) }, 2, 0 },
		{ "ranges: reserved field must be zero",
		  { { 0x100000, 0x100000, 0x1000, UAAF_PERM_R, 1 } }, 1, -EINVAL },
		{ "ranges: invalid perms (W without R)",
		  { R(0x100000, 0x1000, UAAF_PERM_W) }, 1, -EINVAL },
		{ "ranges: zero ranges",
		  { { 0 } }, 0, -EINVAL },
		/* Relocation: the memslot checks apply to src_gpa. */
		{ "reloc: library RAM at view 0x0 from a high memslot",
		  { RS(0, LIB1, 16 * MiB, UAAF_PERM_MASK) }, 1, 0 },
		{ "reloc: view GPA need not be in any memslot",
		  { RS(512 * MiB, LIB1, 0x1000, UAAF_PERM_R) }, 1, 0 },
		{ "reloc: src outside every memslot rejected",
		  { RS(0x100000, 512 * MiB, 0x1000, UAAF_PERM_R) }, 1, -ENOENT },
		{ "reloc: src just past a library memslot rejected",
		  { RS(0x100000, LIB1 + 16 * MiB, 0x1000, UAAF_PERM_R) }, 1,
		  -ENOENT },
		{ "reloc: src runs past its memslot end",
		  { RS(0x100000, LIB1 + 16 * MiB - 0x1000, 0x2000, UAAF_PERM_R) },
		  1, -ENOENT },
		{ "reloc: src spans two adjacent memslots",
		  { RS(0x100000, 16 * MiB - 0x1000, 0x2000, UAAF_PERM_R) }, 1,
		  -ENOENT },
		{ "reloc: RO src cannot become W (view GPA in a RW slot)",
		  { RS(0x100000, 1 * GiB, 0x1000, UAAF_PERM_R | UAAF_PERM_W) },
		  1, -EACCES },
		{ "reloc: RO src mapped R+X",
		  { RS(0x100000, 1 * GiB, 0x2000, UAAF_PERM_R | UAAF_PERM_X) },
		  1, 0 },
		{ "reloc: RW view GPA cannot launder a RO src",
		  { RS(0, 1 * GiB, 0x1000, UAAF_PERM_MASK) }, 1, -EACCES },
		{ "reloc: unaligned src",
		  { RS(0x100000, LIB1 + 0x800, 0x1000, UAAF_PERM_R) }, 1,
		  -EINVAL },
		{ "reloc: src + size wraps",
		  { RS(0x100000, 0xfffffffffffff000ull, 0x2000, UAAF_PERM_R) },
		  1, -EOVERFLOW },
		{ "reloc: view end beyond 2^48 even with a valid src",
		  { RS(EPT_GPA_LIMIT - 0x1000, LIB1, 0x2000, UAAF_PERM_R) }, 1,
		  -EOVERFLOW },
		{ "reloc: two view GPAs on one src page rejected",
		  { RS(0x100000, LIB1, 0x1000, UAAF_PERM_R | UAAF_PERM_X),
		    RS(0x200000, LIB1, 0x1000, UAAF_PERM_R | UAAF_PERM_W) }, 2,
		  -EEXIST },
		{ "reloc: overlapping src ranges rejected",
		  { RS(0x100000, LIB1, 0x3000, UAAF_PERM_R),
		    RS(0x200000, LIB1 + 0x2000, 0x1000, UAAF_PERM_R) }, 2,
		  -EEXIST },
		{ "reloc: overlapping view ranges, distinct srcs, rejected",
		  { RS(0x100000, LIB1, 0x2000, UAAF_PERM_R),
		    RS(0x101000, LIB2, 0x1000, UAAF_PERM_R) }, 2, -EEXIST },
		{ "reloc: library view = own RAM + session call area + tramp",
		  { RS(0, LIB1, 0x9000, UAAF_PERM_MASK),
		    R(0x9000, 0x1000, UAAF_PERM_R | UAAF_PERM_X),
		    R(0xC000, 0x4000, UAAF_PERM_R | UAAF_PERM_W) }, 3, 0 },
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
		r[i].src_gpa = r[i].gpa;
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

	begin("eptp list: 512 slots, views 0..511 (0 = session), 512 refused");
	CHECK_EQ(UAAF_EPTP_ENTRIES * sizeof(u64), EPT_PAGE_SIZE);
	CHECK_EQ(UAAF_VIEW_SESSION, 0);
	eptp_list_init(list, empty);
	for (i = 0; i < UAAF_EPTP_ENTRIES; i++)
		bad += list[i] != empty;
	CHECK_EQ(bad, 0);
	CHECK_EQ(ept_check_view_index(UAAF_VIEW_SESSION), 0);
	CHECK_EQ(ept_check_view_index(1), 0);
	CHECK_EQ(ept_check_view_index(511), 0);
	CHECK_EQ(ept_check_view_index(512), (u64)-EINVAL);
	CHECK_EQ(ept_check_view_index(0xffffffffu), (u64)-EINVAL);
	CHECK_EQ(eptp_list_set(list, 512, 0x9000), (u64)-EINVAL);
	CHECK_EQ(list[0], empty);
	CHECK_EQ(eptp_list_set(list, UAAF_VIEW_SESSION, 0x8000), 0);
	CHECK_EQ(eptp_list_set(list, 1, 0x9000), 0);
	CHECK_EQ(eptp_list_set(list, 511, 0xa000), 0);
	CHECK_EQ(list[0], 0x8000);
	CHECK_EQ(list[1], 0x9000);
	CHECK_EQ(list[511], 0xa000);
	CHECK_EQ(list[2], empty);
	end();
}

/* Build a view the way main.c does (ranges -> pages) and check it. */
static void test_view_build(void)
{
	static const struct uaaf_range r[] = {
		R(0x100000, 0x4000, UAAF_PERM_R | UAAF_PERM_X),
		R(0x200000, 0x2000, UAAF_PERM_R | UAAF_PERM_W),
		R(1 * GiB, 0x1000, UAAF_PERM_R),
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

/* ---- relocation and the session view --------------------------------- */

/* Fake KVM GPA -> HPA of the pinned backing page (any injective map works). */
#define FAKE_PHYS	0x4000000000ull
static u64 fake_hpa_of(u64 kvm_gpa)
{
	return FAKE_PHYS + kvm_gpa;
}

/* ept_src_hpa_fn as main.c's, over the fake physmap; ctx counts calls. */
static u64 t_src_hpa(void *ctx, const struct uaaf_range *r, u64 off)
{
	unsigned int *calls = ctx;

	if (calls)
		(*calls)++;
	return fake_hpa_of(r->src_gpa + off);
}

/* A source whose third page cannot be pinned. */
static u64 t_src_hpa_hole(void *ctx, const struct uaaf_range *r, u64 off)
{
	(void)ctx;
	return off == 2 * EPT_PAGE_SIZE ? 0 : fake_hpa_of(r->src_gpa + off);
}

/* Validate and build one view, as uaaf_define_view() does. */
static int build_view(struct ept_table *t, struct counter *c,
		      const struct uaaf_range *r, u32 n)
{
	u32 i;
	int err = ept_validate_ranges(r, n, false, t_lookup, NULL);

	if (err)
		return err;
	err = ept_init(t, &test_ops, c);
	for (i = 0; !err && i < n; i++)
		err = ept_map_range(t, &r[i], t_src_hpa, NULL);
	return err;
}

/* Call fn(ctx, gpa, leaf) for every leaf of @t; returns the leaf count. */
static unsigned long walk_leaves(const struct ept_table *t,
				 void (*fn)(void *ctx, u64 gpa, u64 leaf),
				 void *ctx)
{
	unsigned long n = 0;
	unsigned int a, b, c, d;

	for (a = 0; a < EPT_ENTRIES; a++) {
		u64 *pdpt;

		if (!(t->root[a] & EPTE_RWX))
			continue;
		pdpt = entry_table(t->root[a]);
		for (b = 0; b < EPT_ENTRIES; b++) {
			u64 *pd;

			if (!(pdpt[b] & EPTE_RWX))
				continue;
			pd = entry_table(pdpt[b]);
			for (c = 0; c < EPT_ENTRIES; c++) {
				u64 *pt;

				if (!(pd[c] & EPTE_RWX))
					continue;
				pt = entry_table(pd[c]);
				for (d = 0; d < EPT_ENTRIES; d++) {
					u64 gpa = ((u64)a << 39) | ((u64)b << 30) |
						  ((u64)c << 21) | ((u64)d << 12);

					if (!(pt[d] & EPTE_RWX))
						continue;
					n++;
					fn(ctx, gpa, pt[d]);
				}
			}
		}
	}
	return n;
}

static void test_reloc_leaf(void)
{
	static const struct uaaf_range r[] = {
		RS(0x100000, LIB1 + 0x100000, 0x3000, UAAF_PERM_R | UAAF_PERM_X),
		RS(0x0, LIB1 + 0x5000, 0x1000, UAAF_PERM_R | UAAF_PERM_W),
	};
	struct counter c = { 0 };
	struct ept_table t;
	unsigned int calls = 0;
	u64 off;

	begin("reloc: leaf of view GPA X is the page behind src + (X - gpa)");
	CHECK_EQ(ept_validate_ranges(r, 2, false, t_lookup, NULL), 0);
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	CHECK_EQ(ept_map_range(&t, &r[0], t_src_hpa, &calls), 0);
	CHECK_EQ(ept_map_range(&t, &r[1], t_src_hpa, &calls), 0);
	CHECK_EQ(calls, 4);
	CHECK_EQ(t.nr_leaves, 4);
	for (off = 0; off < 0x3000; off += EPT_PAGE_SIZE) {
		u64 leaf = ept_lookup(&t, 0x100000 + off);

		CHECK_EQ(leaf & EPTE_ADDR_MASK, fake_hpa_of(LIB1 + 0x100000 + off));
		CHECK((leaf & EPTE_ADDR_MASK) != fake_hpa_of(0x100000 + off));
		CHECK_EQ(leaf & EPTE_RWX, EPTE_R | EPTE_X);
	}
	CHECK_EQ(ept_lookup(&t, 0) & EPTE_ADDR_MASK, fake_hpa_of(LIB1 + 0x5000));
	CHECK_EQ(ept_lookup(&t, 0) & EPTE_RWX, EPTE_R | EPTE_W);
	/* Nothing at the source GPAs themselves, nothing past the ranges. */
	CHECK_EQ(ept_lookup(&t, LIB1 + 0x100000), 0);
	CHECK_EQ(ept_lookup(&t, LIB1 + 0x5000), 0);
	CHECK_EQ(ept_lookup(&t, 0x103000), 0);
	CHECK_EQ(ept_lookup(&t, 0x1000), 0);
	CHECK_EQ(ept_destroy(&t), c.allocs);
	CHECK_EQ(c.frees, c.allocs);
	end();
}

static void test_reloc_map_error(void)
{
	static const struct uaaf_range r =
		RS(0x100000, LIB1, 0x4000, UAAF_PERM_R);
	struct counter c = { 0 };
	struct ept_table t;

	begin("reloc: an unpinned source page fails the range, no leak");
	CHECK_EQ(ept_init(&t, &test_ops, &c), 0);
	CHECK_EQ(ept_map_range(&t, &r, t_src_hpa_hole, NULL), (u64)-EFAULT);
	CHECK_EQ(t.nr_leaves, 2);
	CHECK_EQ(ept_lookup(&t, 0x102000), 0);
	CHECK_EQ(ept_destroy(&t), c.allocs);
	CHECK_EQ(c.frees, c.allocs);
	end();
}

/* What a leaf may point at, for check_leaf(). */
struct allowed {
	const struct uaaf_range *r;
	u32 n;
	unsigned long bad;
};

static void check_leaf(void *ctx, u64 gpa, u64 leaf)
{
	struct allowed *a = ctx;
	u64 hpa = leaf & EPTE_ADDR_MASK;
	u32 i;

	for (i = 0; i < a->n; i++) {
		const struct uaaf_range *r = &a->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    hpa == fake_hpa_of(r->src_gpa + (gpa - r->gpa)))
			return;
	}
	a->bad++;
}

/*
 * The monitor's layout: session RAM identity at 0..16 MiB; library k's RAM
 * at LIBk, mapped at 0.. in its view, except the shared window pages, which
 * come from the session (trampoline 0x9000, call area 0xC000-0xFFFF); the
 * view data page 0xA000 is each view's own.
 */
static void test_session_and_library_views(void)
{
	static const struct uaaf_range session[] = {
		R(0x1000, 0x8000, UAAF_PERM_R | UAAF_PERM_W),	/* 0x1000-0x8fff */
		R(0x9000, 0x1000, UAAF_PERM_R | UAAF_PERM_X),	/* trampoline */
		R(0xA000, 0x2000, UAAF_PERM_R | UAAF_PERM_W),	/* view data .. */
		R(0xC000, 0x4000, UAAF_PERM_R | UAAF_PERM_W),	/* call area */
		R(0x10000, 16 * MiB - 0x10000, UAAF_PERM_MASK),
	};
	static const struct uaaf_range lib1[] = {
		RS(0x1000, LIB1 + 0x1000, 0x8000, UAAF_PERM_R | UAAF_PERM_W),
		R(0x9000, 0x1000, UAAF_PERM_R | UAAF_PERM_X),
		RS(0xA000, LIB1 + 0xA000, 0x2000, UAAF_PERM_R | UAAF_PERM_W),
		R(0xC000, 0x4000, UAAF_PERM_R | UAAF_PERM_W),
		RS(0x10000, LIB1 + 0x10000, 4 * MiB - 0x10000, UAAF_PERM_MASK),
	};
	static const struct uaaf_range lib2[] = {
		RS(0x1000, LIB2 + 0x1000, 0x8000, UAAF_PERM_R | UAAF_PERM_W),
		R(0x9000, 0x1000, UAAF_PERM_R | UAAF_PERM_X),
		RS(0xA000, LIB2 + 0xA000, 0x2000, UAAF_PERM_R | UAAF_PERM_W),
		R(0xC000, 0x4000, UAAF_PERM_R | UAAF_PERM_W),
		RS(0x10000, LIB2 + 0x10000, 2 * MiB - 0x10000, UAAF_PERM_MASK),
	};
	struct counter c = { 0 };
	struct ept_table v0, v1, v2;
	struct allowed a;
	unsigned long n;
	u64 g;

	begin("views: session view 0 and library views, window shared");
	CHECK_EQ(build_view(&v0, &c, session, 5), 0);
	CHECK_EQ(build_view(&v1, &c, lib1, 5), 0);
	CHECK_EQ(build_view(&v2, &c, lib2, 5), 0);

	/* Same GPA, different pages: text at 0x100000 in each view. */
	CHECK_EQ(ept_lookup(&v0, 0x100000) & EPTE_ADDR_MASK, fake_hpa_of(0x100000));
	CHECK_EQ(ept_lookup(&v1, 0x100000) & EPTE_ADDR_MASK,
		 fake_hpa_of(LIB1 + 0x100000));
	CHECK_EQ(ept_lookup(&v2, 0x100000) & EPTE_ADDR_MASK,
		 fake_hpa_of(LIB2 + 0x100000));
	/* Own page tables at 0x2000 and own view data page at 0xA000. */
	CHECK_EQ(ept_lookup(&v1, 0x2000) & EPTE_ADDR_MASK, fake_hpa_of(LIB1 + 0x2000));
	CHECK_EQ(ept_lookup(&v1, 0xA000) & EPTE_ADDR_MASK, fake_hpa_of(LIB1 + 0xA000));
	/* Shared window: the session's trampoline and call area pages. */
	for (g = 0xC000; g < 0x10000; g += EPT_PAGE_SIZE) {
		CHECK_EQ(ept_lookup(&v1, g) & EPTE_ADDR_MASK, fake_hpa_of(g));
		CHECK_EQ(ept_lookup(&v2, g) & EPTE_ADDR_MASK,
			 ept_lookup(&v0, g) & EPTE_ADDR_MASK);
		CHECK_EQ(ept_lookup(&v1, g) & EPTE_RWX, EPTE_R | EPTE_W);
	}
	CHECK_EQ(ept_lookup(&v1, 0x9000) & EPTE_ADDR_MASK, fake_hpa_of(0x9000));
	CHECK_EQ(ept_lookup(&v1, 0x9000) & EPTE_RWX, EPTE_R | EPTE_X);
	/* Page 0 is a hole everywhere; nothing beyond each library's RAM. */
	CHECK_EQ(ept_lookup(&v0, 0), 0);
	CHECK_EQ(ept_lookup(&v1, 0), 0);
	CHECK_EQ(ept_lookup(&v1, 4 * MiB), 0);
	CHECK_EQ(ept_lookup(&v2, 2 * MiB), 0);
	/* No view maps anything at the libraries' KVM GPAs. */
	CHECK_EQ(ept_lookup(&v0, LIB1), 0);
	CHECK_EQ(ept_lookup(&v0, LIB1 + 0x100000), 0);
	CHECK_EQ(ept_lookup(&v1, LIB2 + 0x100000), 0);

	/* Every leaf of every view is one of its own ranges' pages. */
	a = (struct allowed){ session, 5, 0 };
	n = walk_leaves(&v0, check_leaf, &a);
	CHECK_EQ(a.bad, 0);
	CHECK_EQ(n, (16 * MiB - 0x1000) / EPT_PAGE_SIZE);
	a = (struct allowed){ lib1, 5, 0 };
	n = walk_leaves(&v1, check_leaf, &a);
	CHECK_EQ(a.bad, 0);
	CHECK_EQ(n, (4 * MiB - 0x1000) / EPT_PAGE_SIZE);
	a = (struct allowed){ lib2, 5, 0 };
	walk_leaves(&v2, check_leaf, &a);
	CHECK_EQ(a.bad, 0);
	/* ... so library 1's view holds no page of library 2 or the session's
	 * private memory: the check above allows only lib1's ranges. */
	a = (struct allowed){ lib2, 5, 0 };
	walk_leaves(&v1, check_leaf, &a);
	CHECK_EQ(a.bad, (4 * MiB - 0x1000) / EPT_PAGE_SIZE - 5);

	CHECK_EQ(ept_destroy(&v0) + ept_destroy(&v1) + ept_destroy(&v2),
		 c.allocs);
	CHECK_EQ(c.frees, c.allocs);
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
	test_reloc_leaf();
	test_reloc_map_error();
	test_session_and_library_views();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
