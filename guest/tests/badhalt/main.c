/* badhalt (hostile): HALT whose trap-frame cookie lies beyond any
 * possible guest RAM (1 TiB; hvt RAM is at most 4 GiB). */
#include "common.h"
#include "hvt_abi.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    volatile struct hvt_hc_halt arg = {.cookie = 1ULL << 40,
                                       .exit_status = 0};

    (void)si;
    puts_("badhalt: HALT with cookie=0x10000000000\n");
    hvt_hypercall(HVT_HC_HALT, &arg);
    return fail("monitor resumed the guest after HALT");
}
