/*
 * tls: thread-local storage two ways.
 *  1. Raw: solo5_set_tls_base() then %fs:-relative loads.
 *  2. Compiler TLS: __thread variables in two TLS blocks set up with
 *     solo5_tls_init(); each block keeps its own values.
 */
#include "common.h"

__thread volatile uint64_t tvar = 0x1122334455667788ULL;
__thread volatile uint32_t tzero;

static uint8_t block_a[256] __attribute__((aligned(64)));
static uint8_t block_b[256] __attribute__((aligned(64)));

static uint64_t fs_load(uintptr_t off)
{
    uint64_t v;
    __asm__ __volatile__("movq %%fs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
    return v;
}

static int raw_tls(void)
{
    static uint64_t area[4] = {11, 22, 33, 44};

    if (solo5_set_tls_base((uintptr_t)area) != SOLO5_R_OK)
        return fail("solo5_set_tls_base");
    if (fs_load(0) != 11 || fs_load(16) != 33)
        return fail("%fs-relative load");
    area[1] = 99;
    if (fs_load(8) != 99)
        return fail("%fs-relative load after store");
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    if (raw_tls())
        return SOLO5_EXIT_FAILURE;

    if (solo5_tls_size() > sizeof(block_a))
        return fail("TLS block larger than expected");
    if (solo5_tls_init((uintptr_t)block_a) != SOLO5_R_OK)
        return fail("solo5_tls_init(a)");
    uintptr_t tp = solo5_tls_tp_offset((uintptr_t)block_a);
    if (fs_load(0) != tp)
        return fail("TLS self pointer");
    if (tvar != 0x1122334455667788ULL || tzero != 0)
        return fail("initial TLS values in block a");
    tvar = 1;
    tzero = 2;

    if (solo5_tls_init((uintptr_t)block_b) != SOLO5_R_OK)
        return fail("solo5_tls_init(b)");
    if (tvar != 0x1122334455667788ULL || tzero != 0)
        return fail("initial TLS values in block b");
    tvar = 3;

    if (solo5_set_tls_base(tp) != SOLO5_R_OK)
        return fail("switch back to block a");
    if (tvar != 1 || tzero != 2)
        return fail("block a lost its values");
    return success();
}
