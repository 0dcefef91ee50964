/*
 * idle: a session that calls each of its four libraries once (so it holds
 * a live instance of each), prints "idle: ready" and then waits, without
 * spending CPU, until it is stopped — or, given a number of seconds as its
 * argument, until they have passed (then it exits 0). The memory and
 * scaling benchmarks keep many of these alive at once.
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"

UAAF_IMPORT(base64, b64encode);
UAAF_IMPORT(sha256, sha256);
UAAF_IMPORT(crc32, crc32);
UAAF_IMPORT(sort, sort_u32);

static long seconds(const char *s)
{
    long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    static const char msg[] = "idle";
    unsigned char out[64];
    uint32_t v[2] = {2, 1};

    if (uaaf_call(UAAF_FN(base64, b64encode), msg, 4, out, sizeof(out)) < 0 ||
        uaaf_call(UAAF_FN(sha256, sha256), msg, 4, out, sizeof(out)) != 32 ||
        uaaf_call(UAAF_FN(crc32, crc32), msg, 4, out, sizeof(out)) != 4 ||
        uaaf_call(UAAF_FN(sort, sort_u32), v, sizeof(v), out, sizeof(out)) != sizeof(v)) {
        uaaf_puts("idle: a call failed\n");
        return SOLO5_EXIT_FAILURE;
    }
    uaaf_puts("idle: ready\n");
    long secs = seconds(si->cmdline);
    solo5_time_t end = secs < 0 ? ~(solo5_time_t)0 : solo5_clock_monotonic() + (solo5_time_t)secs * 1000000000ULL;
    while (solo5_clock_monotonic() < end)
        solo5_yield(end, NULL);
    return SOLO5_EXIT_SUCCESS;
}
