/* bigbss: a 6 MiB .bss array is mapped, zeroed and writable at both ends. */
#include "common.h"

#define BIG (6UL << 20)
#define PAGE 4096UL

static volatile uint8_t big[BIG];

int solo5_app_main(const struct solo5_start_info *si)
{
    const size_t probes[] = {0, PAGE - 1, BIG / 2, BIG - PAGE, BIG - 1};

    if (si->heap_start < (uintptr_t)&big[BIG - 1])
        return fail("heap overlaps .bss");
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        size_t off = probes[i];
        if (big[off] != 0)
            return fail("bss not zero");
        big[off] = (uint8_t)(i + 1);
        if (big[off] != (uint8_t)(i + 1))
            return fail("bss not writable");
    }
    return success();
}
