/*
 * trap.c: report a CPU exception and halt with SOLO5_EXIT_ABORT.
 *
 * The HALT cookie is the GPA of the trap frame so a monitor can pick up
 * rip/rsp/... for a core dump. A fault inside this handler would re-enter
 * it on the same IST stack; the nesting guard halts without printing then.
 */
#include "internal.h"

static const char *const trap_names[32] = {
    [0] = "divide error",       [1] = "debug",
    [2] = "NMI",                [3] = "breakpoint",
    [4] = "overflow",           [5] = "bound range",
    [6] = "invalid opcode",     [7] = "device not available",
    [8] = "double fault",       [10] = "invalid TSS",
    [11] = "segment not present", [12] = "stack fault",
    [13] = "general protection", [14] = "page fault",
    [16] = "x87 FP error",      [17] = "alignment check",
    [18] = "machine check",     [19] = "SIMD FP error",
    [21] = "control protection",
};

static volatile int in_trap;

void rt_trap(uint64_t vector, struct trap_regs *regs)
{
    const char *name = "reserved";

    if (in_trap)
        rt_halt(SOLO5_EXIT_ABORT, regs);
    in_trap = 1;
    if (vector < 32 && trap_names[vector])
        name = trap_names[vector];
    uaaf_printf("uaaf guest: ABORT: trap %lu (%s): error=0x%lx rip=0x%lx "
                "rsp=0x%lx cr2=0x%lx\n",
                (unsigned long)vector, name, (unsigned long)regs->ec,
                (unsigned long)regs->rip, (unsigned long)regs->rsp,
                (unsigned long)regs->cr2);
    rt_halt(SOLO5_EXIT_ABORT, regs);
}
