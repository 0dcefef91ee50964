/*
 * pause: a plain Solo5 guest (no imports, so solo5-hvt runs it too) that
 * prints "pause: ready" and then waits in solo5_yield(), spending no CPU,
 * until it is stopped. The benchmarks keep many alive at once as the
 * live-instance baseline of plain unikernels (uaaf bench memory, scale).
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_("pause: ready\n");
    for (;;)
        solo5_yield(solo5_clock_monotonic() + 3600ULL * 1000000000ULL, NULL);
    return SOLO5_EXIT_SUCCESS;
}
