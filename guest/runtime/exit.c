/*
 * exit.c: every way out of the guest ends in one HALT hypercall carrying
 * {cookie, exit_status}. Abort paths always print a line containing
 * "ABORT" (even with --solo5:quiet): test harnesses look for that word.
 */
#include "internal.h"

void rt_halt(int status, const void *cookie)
{
    volatile struct hvt_hc_halt arg;

    arg.cookie = (uint64_t)(uintptr_t)cookie;
    arg.exit_status = status;
    hvt_hypercall(HVT_HC_HALT, &arg);
    /* A monitor that resumes us after HALT is broken; stop for good. */
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void solo5_exit(int status)
{
    rt_log(LOG_INFO, "exit %d\n", status);
    rt_halt(status, NULL);
}

void solo5_abort(void)
{
    uaaf_puts("uaaf guest: ABORT: solo5_abort() called\n");
    rt_halt(SOLO5_EXIT_ABORT, NULL);
}

void uaaf_panic(const char *file, int line, const char *msg)
{
    uaaf_printf("uaaf guest: ABORT: %s:%d: %s\n", file, line, msg);
    rt_halt(SOLO5_EXIT_ABORT, NULL);
}

void uaaf_assert_fail(const char *file, int line, const char *expr)
{
    uaaf_printf("uaaf guest: ABORT: %s:%d: assertion failed: %s\n", file,
                line, expr);
    rt_halt(SOLO5_EXIT_ABORT, NULL);
}
