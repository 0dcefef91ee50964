/*
 * clock.c: monotonic and wall clocks, and solo5_yield().
 *
 * Monotonic time is the TSC scaled by the frequency the monitor put in
 * boot_info (assumed invariant). To avoid a 128-bit division (no libgcc
 * here) the ns-per-tick ratio is kept as a 32.32 fixed-point multiplier
 * computed once at boot; the per-call work is one 64x64->128 multiply,
 * which gcc inlines as a single `mul`. The truncation error of the
 * multiplier is below 1 ns per second for any TSC faster than 4.3 GHz/1e9.
 *
 * Wall time is one WALLTIME hypercall at boot plus monotonic progress,
 * so reading it costs no VM exit.
 */
#include "internal.h"

#define NSEC_PER_SEC 1000000000ULL

static uint64_t tsc_base;
static uint64_t ns_per_tick_q32; /* (1e9 << 32) / cpu_cycle_freq */
static solo5_time_t wall_base;

void rt_clock_init(void)
{
    volatile struct hvt_hc_walltime wt;
    uint64_t freq = rt_boot_info->cpu_cycle_freq;

    /* Below ~233 Hz the multiplier would overflow 64 bits; 0 is a
     * monitor bug. Either way the clock would be meaningless. */
    if (freq < 1000)
        UAAF_PANIC("cpu_cycle_freq in boot info is unusable");
    ns_per_tick_q32 = (NSEC_PER_SEC << 32) / freq;
    tsc_base = rt_rdtsc();
    wt.nsecs = 0;
    hvt_hypercall(HVT_HC_WALLTIME, &wt);
    wall_base = wt.nsecs;
}

solo5_time_t solo5_clock_monotonic(void)
{
    uint64_t ticks = rt_rdtsc() - tsc_base;
    return (solo5_time_t)(((unsigned __int128)ticks * ns_per_tick_q32) >> 32);
}

solo5_time_t solo5_clock_wall(void)
{
    return wall_base + solo5_clock_monotonic();
}

void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set)
{
    volatile struct hvt_hc_poll arg;
    solo5_time_t now = solo5_clock_monotonic();

    arg.timeout_nsecs = deadline > now ? deadline - now : 0;
    arg.ready_set = 0;
    arg.ret = 0;
    hvt_hypercall(HVT_HC_POLL, &arg);
    if (ready_set)
        *ready_set = arg.ready_set;
}
