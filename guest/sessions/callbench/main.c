/*
 * callbench: the UaaF call benchmark. Command line:
 *
 *   [N]      call testfns.nop N times (default 1000)
 *   hc N     instead do N plain hypercalls, the baseline a call is
 *            compared with: a console write of zero bytes (PUTS), one VM
 *            exit and back with nothing to do. (solo5_clock_wall no longer
 *            exits: the runtime derives wall time from the TSC.)
 *
 * Prints one line "BENCH calls|hypercalls N ns T" (T = total guest
 * monotonic time) and exits 0; a failing call prints FAILURE and exits 1.
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"
#include <string.h>

UAAF_IMPORT(testfns, nop);

static bool parse_dec(const char *s, unsigned long *v)
{
    unsigned long x = 0;

    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > 100000000UL)
            return false;
        x = x * 10 + (unsigned long)(*s - '0');
    }
    *v = x;
    return true;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *arg = si->cmdline;
    unsigned long n = 1000;
    bool hc = false;
    solo5_time_t t0, t1;

    if (strncmp(arg, "hc ", 3) == 0) {
        hc = true;
        arg += 3;
    }
    if ((*arg || hc) && !parse_dec(arg, &n)) {
        uaaf_printf("FAILURE: usage: callbench [N] | hc N\n");
        return SOLO5_EXIT_FAILURE;
    }
    t0 = solo5_clock_monotonic();
    if (hc) {
        static const char nothing[1];
        for (unsigned long i = 0; i < n; i++)
            solo5_console_write(nothing, 0);
    } else {
        uaaf_fn_t f = UAAF_FN(testfns, nop);
        for (unsigned long i = 0; i < n; i++) {
            long rc = uaaf_call(f, NULL, 0, NULL, 0);
            if (rc != 0) {
                uaaf_printf("FAILURE: call %lu: %ld (%s)\n", i, rc,
                            uaaf_strerror(rc));
                return SOLO5_EXIT_FAILURE;
            }
        }
    }
    t1 = solo5_clock_monotonic();
    uaaf_printf("BENCH %s %lu ns %lu\n", hc ? "hypercalls" : "calls", n,
                (unsigned long)(t1 - t0));
    return SOLO5_EXIT_SUCCESS;
}
