/*
 * boot.c: C entry point. Brings the runtime up in dependency order and
 * runs the application.
 *
 * Built without the stack protector: rt_boot() changes __stack_chk_guard,
 * so a protected rt_boot() would find a different canary when checking
 * its own frame. It never returns, which keeps that safe.
 */
#include "internal.h"
#include "uaaf_internal.h"

extern uintptr_t __stack_chk_guard;

const struct hvt_boot_info *rt_boot_info;

/* Seed the stack canary from the TSC; the low byte stays 0 so that string
 * overflows cannot reproduce the canary. */
static void ssp_init(void)
{
    uint64_t t = rt_rdtsc();
    uintptr_t g = __stack_chk_guard ^ (t * 0x9e3779b97f4a7c15ULL);
    __stack_chk_guard = g & ~(uintptr_t)0xff;
}

void rt_boot(const struct hvt_boot_info *bi) __attribute__((noreturn));

/* Weak: a library function image has no solo5_app_main (the linker script
 * insists on one for every image that exports nothing). */
__attribute__((weak)) int solo5_app_main(const struct solo5_start_info *si);

void rt_boot(const struct hvt_boot_info *bi)
{
    struct solo5_start_info si;
    enum rt_uaaf_role role;

    rt_boot_info = bi;
    rt_cpu_init(); /* first: until our IDT is loaded a fault is fatal */
    ssp_init();
    si.cmdline = rt_cmdline_init((const char *)(uintptr_t)bi->cmdline);
    role = rt_uaaf_role();
    /* A library is preloaded once and must keep the console quiet; only
     * abort lines (always printed) can come out of its init. */
    if (role == RT_UAAF_LIBFUNC)
        rt_log_level = LOG_QUIET;
    rt_log(LOG_INFO, "starting, mem %lu MiB\n",
           (unsigned long)(bi->mem_size >> 20));
    rt_clock_init();
    rt_mem_init(&si);
    rt_mft_init();
    rt_log(LOG_DEBUG, "cmdline '%s', heap 0x%lx+0x%lx\n", si.cmdline,
           (unsigned long)si.heap_start, (unsigned long)si.heap_size);
    if (role == RT_UAAF_LIBFUNC)
        rt_uaaf_lib_start(&si); /* does not return */
    if (role == RT_UAAF_SESSION)
        rt_uaaf_session_init();
    if (!solo5_app_main)
        UAAF_PANIC("no solo5_app_main");
    solo5_exit(solo5_app_main(&si));
}
