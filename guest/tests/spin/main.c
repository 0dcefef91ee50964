/*
 * spin: say so, then compute forever without a hypercall, so the vCPU stays
 * in KVM_RUN until the monitor stops it from outside.
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    volatile uint64_t n = 0;

    (void)si;
    uaaf_printf("spin: spinning\n");
    for (;;)
        n++;
}
