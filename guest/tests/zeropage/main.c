/* zeropage: GPA 0 is unmapped; reading it must page-fault into ABORT. */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    uintptr_t addr = 0;

    (void)si;
    OPAQUE(addr); /* keep gcc from replacing a NULL read with a trap */
    puts_("zeropage: reading address 0, expecting ABORT\n");
    volatile int v = *(volatile int *)addr;
    (void)v;
    return fail("read of address 0 succeeded");
}
