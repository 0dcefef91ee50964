/* badlen (hostile): PUTS of a valid buffer with len 2^64-1 (wraps). */
#include "common.h"
#include "hvt_abi.h"

static const char msg[] = "badlen\n";

int solo5_app_main(const struct solo5_start_info *si)
{
    volatile struct hvt_hc_puts arg = {.data = (uintptr_t)msg,
                                       .len = 0xffffffffffffffffULL};

    (void)si;
    puts_("badlen: PUTS with len=0xffffffffffffffff\n");
    hvt_hypercall(HVT_HC_PUTS, &arg);
    return fail("monitor accepted a PUTS length that overflows");
}
