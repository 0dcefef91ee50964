/*
 * flood: print N lines of 1 KiB (N is the command line; default 1024), then
 * exit 0 — a guest that floods its console, for the daemon's tests.
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    static char line[1024];
    long n = 0;

    for (const char *s = si->cmdline; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (*s - '0');
    if (!*si->cmdline)
        n = 1024;
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    for (long i = 0; i < n; i++)
        solo5_console_write(line, sizeof(line));
    return SOLO5_EXIT_SUCCESS;
}
