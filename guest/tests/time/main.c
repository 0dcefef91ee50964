/*
 * time: the monotonic clock never goes back and advances across a 1 ms
 * solo5_yield(); the wall clock is after 2020-01-01 and before 2100.
 */
#include "common.h"

#define NSEC_PER_SEC 1000000000ULL
#define MS 1000000ULL
#define WALL_2020 (1577836800ULL * NSEC_PER_SEC)
#define WALL_2100 (4102444800ULL * NSEC_PER_SEC)

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    solo5_time_t prev = solo5_clock_monotonic();
    for (int i = 0; i < 10; i++) {
        solo5_time_t now = solo5_clock_monotonic();
        if (now < prev)
            return fail("monotonic clock went backwards");
        prev = now;
    }

    solo5_time_t t0 = solo5_clock_monotonic();
    solo5_handle_set_t ready = ~0ULL;
    solo5_yield(t0 + MS, &ready);
    solo5_time_t t1 = solo5_clock_monotonic();
    uaaf_printf("yield(1 ms) took %lu us\n", (unsigned long)((t1 - t0) / 1000));
    if (ready != 0)
        return fail("ready set not empty without devices");
    /* Allow for timer slack in the host, not for no wait at all. */
    if (t1 <= t0 || t1 - t0 < MS / 2)
        return fail("monotonic clock did not advance across yield");

    solo5_time_t wall = solo5_clock_wall();
    uaaf_printf("wall clock: %lu s\n", (unsigned long)(wall / NSEC_PER_SEC));
    if (wall < WALL_2020 || wall > WALL_2100)
        return fail("wall clock implausible");
    return success();
}
