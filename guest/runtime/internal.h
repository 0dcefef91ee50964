/*
 * internal.h: declarations shared by the runtime's source files. Not part
 * of the SDK's public interface.
 */
#ifndef UAAF_RT_INTERNAL_H
#define UAAF_RT_INTERNAL_H

#include "hvt_abi.h"
#include "solo5.h"
#include "uaaf_guest.h"

/* Log levels selected by --solo5:<level> on the command line. */
enum log_level {
    LOG_QUIET = 0,
    LOG_ERROR = 1,
    LOG_WARN = 2,
    LOG_INFO = 3, /* default */
    LOG_DEBUG = 4,
};

extern const struct hvt_boot_info *rt_boot_info;
extern enum log_level rt_log_level;

/* The CPU state the trap stubs leave for the C handler (7 x u64). */
struct trap_regs {
    uint64_t cr2;
    uint64_t ec; /* error code, 0 for vectors without one */
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

/* Print with the runtime's prefix if the log level allows it. */
void rt_log(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Halt the guest: HALT hypercall, never returns. */
void rt_halt(int status, const void *cookie) __attribute__((noreturn));

void rt_cpu_init(void);
const char *rt_cmdline_init(const char *raw);
void rt_clock_init(void);
void rt_mem_init(struct solo5_start_info *si);
void rt_mft_init(void);
void rt_trap(uint64_t vector, struct trap_regs *regs) __attribute__((noreturn));

/* Manifest entry for handle h if it has type type and is attached, else 0. */
const struct mft_entry *rt_mft_get(solo5_handle_t h, uint32_t type);
/* Find an attached entry by name and type; sets *h. */
const struct mft_entry *rt_mft_find(const char *name, uint32_t type,
                                    solo5_handle_t *h);

static inline uint64_t rt_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif /* UAAF_RT_INTERNAL_H */
