/* badport (hostile): write to port 0x5ff, outside the hypercall range.
 * The monitor must stop the guest; SUCCESS is never printed. */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_("badport: outl to port 0x5ff\n");
    __asm__ __volatile__("outl %0, %1" : : "a"(0), "d"((uint16_t)0x5ff));
    return fail("monitor resumed the guest after a bad port access");
}
