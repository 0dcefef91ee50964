/*
 * tls.c: thread-local storage.
 *
 * solo5_set_tls_base() writes IA32_FS_BASE, which the hypervisor handles
 * without an exit to the monitor.
 *
 * For compiler TLS (__thread) the linker script lays out .tdata then .tbss,
 * both 64-byte aligned and padded to 64 bytes, and exports the TLS image
 * address and sizes. x86_64 uses "variant II": the thread pointer points
 * just past the TLS block, variables live at negative offsets from it, and
 * the word at the thread pointer holds the thread pointer itself. Because
 * the block size is a multiple of 64, our tp offset equals the linker's
 * for any TLS alignment up to 64. Block start (tls) should be 64-aligned.
 */
#include "internal.h"
#include <string.h>

#define MSR_FS_BASE 0xc0000100

extern char _tdata_start[];
extern char _tdata_size[]; /* absolute symbols: their address is the value */
extern char _tls_size[];

solo5_result_t solo5_set_tls_base(uintptr_t base)
{
    __asm__ __volatile__("wrmsr"
                         :
                         : "c"(MSR_FS_BASE), "a"((uint32_t)base),
                           "d"((uint32_t)(base >> 32)));
    return SOLO5_R_OK;
}

size_t solo5_tls_size(void)
{
    return (size_t)(uintptr_t)_tls_size + sizeof(uintptr_t);
}

uintptr_t solo5_tls_tp_offset(uintptr_t tls)
{
    return tls + (uintptr_t)_tls_size;
}

solo5_result_t solo5_tls_init(uintptr_t tls)
{
    size_t data = (size_t)(uintptr_t)_tdata_size;
    size_t total = (size_t)(uintptr_t)_tls_size;
    uintptr_t tp = solo5_tls_tp_offset(tls);

    if (tls == 0)
        return SOLO5_R_EINVAL;
    memcpy((void *)tls, _tdata_start, data);
    memset((char *)tls + data, 0, total - data);
    *(uintptr_t *)tp = tp;
    return solo5_set_tls_base(tp);
}
