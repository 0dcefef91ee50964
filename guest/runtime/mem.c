/*
 * mem.c: describe free memory to the application.
 *
 * Layout: image [0x100000, _end), heap [align_up(_end), top - stack),
 * stack (512 KiB reserved) just below mem_size, growing down from where
 * the monitor pointed RSP. kernel_end from the monitor ignores BSS-only
 * segments, so the linker's _end is the authority; the larger wins.
 */
#include "internal.h"

#define PAGE_SIZE 4096UL
#define STACK_RESERVE (512UL * 1024)

extern char _end[];

void rt_mem_init(struct solo5_start_info *si)
{
    uint64_t end = (uint64_t)(uintptr_t)_end;
    uint64_t mem = rt_boot_info->mem_size;

    if (rt_boot_info->kernel_end > end)
        end = rt_boot_info->kernel_end;
    end = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (end > mem || mem - end < STACK_RESERVE)
        UAAF_PANIC("Not enough memory");
    si->heap_start = end;
    si->heap_size = mem - STACK_RESERVE - end;
}
