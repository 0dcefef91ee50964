/*
 * cmdline.c: strip the runtime's own options from the command line.
 *
 * The monitor joins the arguments after the image name with single
 * spaces. Leading words --solo5:{quiet,error,warn,info,debug} set the log
 * level and are removed; the rest is handed to the application unchanged.
 * The cmdline page is read-only to the guest, so we only move a pointer.
 */
#include "internal.h"
#include <string.h>

static const struct {
    const char *name;
    enum log_level level;
} levels[] = {
    {"quiet", LOG_QUIET}, {"error", LOG_ERROR}, {"warn", LOG_WARN},
    {"info", LOG_INFO},   {"debug", LOG_DEBUG},
};

#define PREFIX "--solo5:"

/* Length of the word at s (up to a space or NUL). */
static size_t word_len(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != ' ')
        n++;
    return n;
}

const char *rt_cmdline_init(const char *raw)
{
    const char *p = raw ? raw : "";
    const size_t plen = sizeof(PREFIX) - 1;

    while (strncmp(p, PREFIX, plen) == 0) {
        size_t n = word_len(p);
        bool known = false;
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
            const char *name = levels[i].name;
            if (n - plen == strlen(name) &&
                strncmp(p + plen, name, n - plen) == 0) {
                rt_log_level = levels[i].level;
                known = true;
            }
        }
        if (!known)
            break; /* leave unknown options to the application */
        p += n;
        while (*p == ' ')
            p++;
    }
    return p;
}
