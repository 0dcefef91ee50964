/*
 * replay: one invocation of a function replayed from a trace by `uaaf
 * replay`. It calls each of its four libraries once, as a function that
 * uses them would (so each call starts the session's instance of that
 * library), then stays running for the number of microseconds given as
 * its argument — the invocation's run time from the trace, scaled to wall
 * time — waiting rather than spinning, so a replayed run time costs the
 * host no CPU. No argument, or 0: it exits right after the calls. A call
 * that fails, or an argument that is not a number, exits 1.
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"

UAAF_IMPORT(base64, b64encode);
UAAF_IMPORT(sha256, sha256);
UAAF_IMPORT(crc32, crc32);
UAAF_IMPORT(sort, sort_u32);

/* micros parses a decimal number of microseconds; -1 if s is not one. */
static long long micros(const char *s)
{
    long long v = 0;
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 1000000000000LL)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    static const char msg[] = "replay";
    unsigned char out[64];
    uint32_t v[2] = {2, 1};

    long long us = micros(si->cmdline);
    if (us < 0) {
        uaaf_puts("replay: the argument must be a run time in microseconds\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (uaaf_call(UAAF_FN(base64, b64encode), msg, 6, out, sizeof(out)) < 0 ||
        uaaf_call(UAAF_FN(sha256, sha256), msg, 6, out, sizeof(out)) != 32 ||
        uaaf_call(UAAF_FN(crc32, crc32), msg, 6, out, sizeof(out)) != 4 ||
        uaaf_call(UAAF_FN(sort, sort_u32), v, sizeof(v), out, sizeof(out)) != sizeof(v)) {
        uaaf_puts("replay: a call failed\n");
        return SOLO5_EXIT_FAILURE;
    }
    solo5_time_t end = solo5_clock_monotonic() + (solo5_time_t)us * 1000ULL;
    while (solo5_clock_monotonic() < end)
        solo5_yield(end, NULL);
    return SOLO5_EXIT_SUCCESS;
}
