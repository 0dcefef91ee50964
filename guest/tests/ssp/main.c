/* ssp: overflow a stack buffer; the stack protector must abort (255). */
#include "common.h"

static void __attribute__((noinline)) smash(size_t n)
{
    char buf[16];

    OPAQUE(n);
    for (size_t i = 0; i < n; i++)
        ((volatile char *)buf)[i] = 'X';
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_("ssp: overflowing a stack buffer, expecting ABORT\n");
    smash(48);
    return fail("stack protector did not fire");
}
