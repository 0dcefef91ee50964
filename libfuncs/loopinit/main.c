/*
 * loopinit: a library whose uaaf_lib_init never returns, so its preload
 * never reaches the ready point — for the tests of what stops a preload
 * (a signal, the preload timeout).
 */
#include "solo5.h"
#include "uaaf.h"

int uaaf_lib_init(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
    return 0;
}

long nop(const void *in, size_t in_len, void *out, size_t out_cap)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    return 0;
}
UAAF_EXPORT(nop);
