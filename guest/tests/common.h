/*
 * common.h: helpers shared by the test programs. Tests follow Solo5's
 * convention: print SUCCESS and exit 0 when the check passes.
 */
#ifndef UAAF_TEST_COMMON_H
#define UAAF_TEST_COMMON_H

#include "solo5.h"
#include "uaaf_guest.h"
#include <string.h>

static inline void puts_(const char *s)
{
    solo5_console_write(s, strlen(s));
}

/* Print FAILURE with a reason and return the failure status. */
static inline int fail(const char *why)
{
    uaaf_printf("FAILURE: %s\n", why);
    return SOLO5_EXIT_FAILURE;
}

static inline int success(void)
{
    puts_("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}

/* Parse a decimal number; returns false if s is empty or not all digits. */
static inline bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Hide a value from the optimiser so it cannot reason about it. */
#define OPAQUE(x) __asm__ __volatile__("" : "+r"(x))

#endif /* UAAF_TEST_COMMON_H */
