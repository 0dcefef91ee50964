/*
 * ssp.c: stack protector support. Images are built with
 * -mstack-protector-guard=global, so gcc compares frames against this
 * global rather than %fs:0x28 (FS belongs to the application's TLS).
 * rt_boot() re-seeds the guard before the application runs.
 */
#include "internal.h"

uintptr_t __stack_chk_guard = 0x00e5a7c3b1d2f4a6ULL;

void __stack_chk_fail(void) __attribute__((noreturn));

void __stack_chk_fail(void)
{
    uaaf_puts("uaaf guest: ABORT: stack smashing detected\n");
    rt_halt(SOLO5_EXIT_ABORT, NULL);
}
