/* badptr (hostile): PUTS whose data pointer (0xfffff000) is beyond RAM. */
#include "common.h"
#include "hvt_abi.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    volatile struct hvt_hc_puts arg = {.data = 0xfffff000ULL, .len = 16};

    (void)si;
    puts_("badptr: PUTS with data=0xfffff000\n");
    hvt_hypercall(HVT_HC_PUTS, &arg);
    return fail("monitor accepted a PUTS buffer outside guest RAM");
}
