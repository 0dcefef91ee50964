/*
 * boot.c: C entry point. Brings the runtime up in dependency order and
 * runs the application.
 *
 * Built without the stack protector: rt_boot() changes __stack_chk_guard,
 * so a protected rt_boot() would find a different canary when checking
 * its own frame. It never returns, which keeps that safe.
 */
#include "internal.h"

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

void rt_boot(const struct hvt_boot_info *bi)
{
    struct solo5_start_info si;

    rt_boot_info = bi;
    rt_cpu_init(); /* first: until our IDT is loaded a fault is fatal */
    ssp_init();
    si.cmdline = rt_cmdline_init((const char *)(uintptr_t)bi->cmdline);
    rt_log(LOG_INFO, "starting, mem %lu MiB\n",
           (unsigned long)(bi->mem_size >> 20));
    rt_clock_init();
    rt_mem_init(&si);
    rt_mft_init();
    rt_log(LOG_DEBUG, "cmdline '%s', heap 0x%lx+0x%lx\n", si.cmdline,
           (unsigned long)si.heap_start, (unsigned long)si.heap_size);
    solo5_exit(solo5_app_main(&si));
}
