/*
 * flood: print N lines of 1 KiB (N is the command line; default 1024), then
 * exit 0 — a guest that floods its console, for the daemon's tests. With
 * "N bytes", each line holds the byte values 0, 1, … 255 in turn instead of
 * 'x' (a console that is not UTF-8).
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    static char line[1024];
    long n = 0;
    const char *s = si->cmdline;

    for (; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (*s - '0');
    if (!*si->cmdline)
        n = 1024;
    memset(line, 'x', sizeof(line) - 1);
    if (strcmp(s, " bytes") == 0)
        for (unsigned i = 0; i < sizeof(line) - 1; i++)
            line[i] = (char)(i & 0xff);
    line[sizeof(line) - 1] = '\n';
    for (long i = 0; i < n; i++)
        solo5_console_write(line, sizeof(line));
    return SOLO5_EXIT_SUCCESS;
}
