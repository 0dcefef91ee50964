/*
 * harness.c: guest/runtime/uaaf.c — the session's uaaf_call and the
 * library's dispatcher, unchanged — compiled for the host, with the call
 * area, the view data page, the trampoline and the linker's tables
 * supplied here, so that Go fuzz targets can drive both sides of a call
 * with hostile values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define RT_UAAF_HOSTED 1
#define RT_UAAF_VD ((volatile struct uaaf_viewdata *)&h_vd)
#define RT_UAAF_HDR ((volatile struct uaaf_call_hdr *)(h_area + H_GUARD))
#define RT_UAAF_DATA (h_area + H_GUARD + UAAF_CALL_HDR_SIZE)
#define RT_UAAF_TRAMP_CALL h_tramp_call
#define __uaaf_exports_start h_exports
#define __uaaf_exports_end (h_exports + h_nexports)
#define __uaaf_imports_start h_imports
#define __uaaf_imports_end (h_imports + h_nimports)
#define __uaaf_bindings h_bindings

struct h_script h_script;
struct h_trace h_trace;
struct uaaf_viewdata h_vd;
unsigned char h_area[H_GUARD + UAAF_CALL_SIZE + H_GUARD];
struct uaaf_import h_imports[H_MAX_IMPORTS];
struct uaaf_binding h_bindings[H_MAX_IMPORTS];
struct uaaf_export h_exports[H_MAX_EXPORTS];
uint32_t h_nimports, h_nexports;

/* The runtime's panic (exit.c in a guest); only rt_uaaf_lib_start, which
 * the harness never runs, calls it. */
void uaaf_panic(const char *file, int line, const char *msg)
{
    (void)file, (void)line, (void)msg;
    abort();
}

/* uaaf_runtime.h is a symbolic link to guest/runtime/uaaf.c, as uaaf.h,
 * uaaf_internal.h and internal.h are to theirs: headers in the package's
 * directory are part of what the go command hashes, so an edit of the
 * runtime rebuilds this harness (an #include reaching outside the
 * directory would not). */
#include "uaaf_runtime.h"

/* The library's private copies of a call's input and output, which
 * rt_uaaf_lib_start carves from the heap in a guest. */
static unsigned char h_in_buf[UAAF_CALL_DATA_MAX];
static unsigned char h_out_buf[UAAF_CALL_DATA_MAX];

static long h_fn(const void *in, size_t in_len, void *out, size_t out_cap)
{
    uint32_t n = h_script.fn_write;

    h_trace.fn_calls++;
    h_trace.fn_in_len = in_len;
    h_trace.fn_out_cap = out_cap;
    h_trace.fn_in_matches = in_len <= UAAF_CALL_DATA_MAX &&
                            memcmp(in, RT_UAAF_DATA, in_len) == 0;
    if (n > UAAF_CALL_DATA_MAX)
        n = UAAF_CALL_DATA_MAX;
    memset(out, 0xAB, n);
    return (long)h_script.fn_ret;
}

void h_reset(void)
{
    memset(&h_trace, 0, sizeof(h_trace));
    memset(&h_vd, 0, sizeof(h_vd));
    memset(h_area, 0xCC, sizeof(h_area));
    in_buf = h_in_buf;
    out_buf = h_out_buf;
    for (uint32_t i = 0; i < H_MAX_EXPORTS; i++)
        h_exports[i].addr = (uint64_t)(uintptr_t)h_fn;
}

void h_dispatch(void)
{
    rt_uaaf_dispatch();
}

/* The trampoline's caller entry as the other side sees it. */
void h_tramp_call(uint64_t view)
{
    volatile struct uaaf_call_hdr *h = RT_UAAF_HDR;

    h_trace.tramp_calls++;
    h_trace.view = view;
    if (h_script.mode == H_FORGE) {
        uint32_t n = h_script.data_len;
        if (n > UAAF_CALL_DATA_MAX)
            n = UAAF_CALL_DATA_MAX;
        memset(RT_UAAF_DATA, h_script.data_byte, n);
        h->status = h_script.status;
        RT_UAAF_VD->verdict = h_script.verdict;
        return;
    }
    if (h_script.rewrite) {
        h->fn = h_script.fn;
        h->in_len = h_script.in_len;
        h->out_cap = h_script.out_cap;
    }
    rt_uaaf_dispatch();
}

long h_uaaf_call(uint32_t f, const void *in, size_t in_len, void *out, size_t out_cap)
{
    return uaaf_call(f, in, in_len, out, out_cap);
}
