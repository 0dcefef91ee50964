/*
 * uaaf.c: the guest side of UaaF calls (see include/uaaf.h and
 * UAAF_ABI.md).
 *
 * An image that exports functions is a library: after the usual runtime
 * init it runs the optional uaaf_lib_init(), fills its view data page and
 * reports "ready" through the trampoline; from then on it only runs
 * rt_uaaf_dispatch(), once per call, on its own callee stack. An image
 * that imports functions is a session: its view data page is filled before
 * solo5_app_main and uaaf_call() crosses into the callee's view through the
 * trampoline. Everything that crosses travels in the call area, which the
 * other side may change at any time: each field is read once.
 *
 * Ring-0 guest code may be emulated one instruction at a time, so the call
 * paths are short and copy with memcpy (one `rep movsb`).
 */
#include "internal.h"
#include "uaaf_internal.h"
#include <string.h>

/* Optional library hook (declared in uaaf.h); weak so it may be absent. */
__attribute__((weak)) int uaaf_lib_init(void);

static uint32_t export_count(void)
{
    return (uint32_t)(((uintptr_t)__uaaf_exports_end -
                       (uintptr_t)__uaaf_exports_start) /
                      sizeof(struct uaaf_export));
}

uint32_t uaaf_import_count(void)
{
    return (uint32_t)(((uintptr_t)__uaaf_imports_end -
                       (uintptr_t)__uaaf_imports_start) /
                      sizeof(struct uaaf_import));
}

const struct uaaf_import *uaaf_import_at(uint32_t i)
{
    return i < uaaf_import_count() ? &__uaaf_imports_start[i] : NULL;
}

uint32_t uaaf_view_of(uaaf_fn_t f)
{
    return f < uaaf_import_count() ? __uaaf_bindings[f].view : 0;
}

enum rt_uaaf_role rt_uaaf_role(void)
{
    if (export_count() > 0)
        return RT_UAAF_LIBFUNC;
    if (uaaf_import_count() > 0)
        return RT_UAAF_SESSION;
    return RT_UAAF_PLAIN;
}

const char *uaaf_strerror(long err)
{
    static const char *const names[] = {
        [0] = "success",
        [1] = "bad arguments to uaaf_call",       /* UAAF_EINVAL */
        [2] = "function not bound or not found",  /* UAAF_ENOENT */
        [3] = "input or output too large",        /* UAAF_E2BIG */
        [4] = "function faulted, aborted or left its view", /* UAAF_EFAULT */
        [5] = "function timed out",               /* UAAF_ETIMEDOUT */
        [6] = "function instance unavailable",    /* UAAF_EUNAVAIL */
        [7] = "function returned a reserved value", /* UAAF_EBADRET */
    };

    if (err >= 0)
        return names[0];
    if (err >= -7)
        return names[-err];
    if (err >= UAAF_ERRNO_MIN)
        return "reserved uaaf error";
    return "function-defined error";
}

/* --- library side ---------------------------------------------------------- */

/*
 * The callee stack and the private copies of a call's input and output are
 * carved from the heap at preload (a library has no solo5_app_main, so the
 * heap is the runtime's): plain images and sessions pay nothing for them.
 */
#define CALLEE_STACK_SIZE (64 * 1024)
#define LIB_RESERVE (2 * UAAF_CALL_DATA_MAX + 2 * 64 + CALLEE_STACK_SIZE)

static unsigned char *in_buf;  /* the export never sees the call area */
static unsigned char *out_buf;

void rt_uaaf_dispatch(void)
{
    volatile struct uaaf_call_hdr *h = RT_UAAF_HDR;
    uint32_t fn = h->fn;
    uint32_t in_len = h->in_len;
    uint32_t out_cap = h->out_cap;
    long ret;

    if (fn >= export_count()) {
        h->status = UAAF_ENOENT;
        return;
    }
    if (in_len > UAAF_CALL_DATA_MAX || out_cap > UAAF_CALL_DATA_MAX) {
        h->status = UAAF_E2BIG;
        return;
    }
    if (in_len) /* skip the call: every instruction counts when emulated */
        memcpy(in_buf, RT_UAAF_DATA, in_len);
    uaaf_fn_impl impl = (uaaf_fn_impl)(uintptr_t)__uaaf_exports_start[fn].addr;
    ret = impl(in_buf, in_len, out_buf, out_cap);
    if (ret < 0) {
        /* -1..-15 belong to uaaf; below INT32_MIN does not fit status. */
        if (ret >= UAAF_ERRNO_MIN || ret < INT32_MIN)
            ret = UAAF_EBADRET;
    } else if (ret > (long)out_cap) {
        ret = UAAF_E2BIG;
    } else if (ret > 0) {
        memcpy(RT_UAAF_DATA, out_buf, (size_t)ret);
    }
    h->status = (int32_t)ret;
}

void rt_uaaf_lib_start(const struct solo5_start_info *si)
{
    volatile struct uaaf_viewdata *vd = RT_UAAF_VD;
    uintptr_t p = (uintptr_t)si->heap_start; /* page aligned */

    /* A library runs in a callee view: it has no views of its own. */
    if (uaaf_import_count() > 0)
        UAAF_PANIC("uaaf: a library function image cannot import functions");
    if (uaaf_lib_init && uaaf_lib_init() != 0)
        UAAF_PANIC("uaaf: uaaf_lib_init() failed");
    if (si->heap_size < LIB_RESERVE)
        UAAF_PANIC("uaaf: not enough memory for the callee stack");
    in_buf = (unsigned char *)p;
    p += (UAAF_CALL_DATA_MAX + 63) & ~(uintptr_t)63;
    out_buf = (unsigned char *)p;
    p += (UAAF_CALL_DATA_MAX + 63) & ~(uintptr_t)63;
    p += CALLEE_STACK_SIZE; /* stack top, 16-byte aligned */
    vd->resume = UAAF_TRAMP_CALLEE_ENTRY;
    vd->saved_rsp = (uint64_t)p;
    vd->dispatch = (uint64_t)(uintptr_t)rt_uaaf_dispatch;
    vd->role = UAAF_ROLE_LIBFUNC;
    /* tramp_ready: the monitor snapshots this state as the pristine image;
     * every later entry goes to callee_entry through vd->resume. */
    __asm__ __volatile__("jmp *%0" : : "r"((uintptr_t)UAAF_TRAMP_READY)
                         : "memory");
    __builtin_unreachable();
}

/* --- session side ---------------------------------------------------------- */

void rt_uaaf_session_init(void)
{
    volatile struct uaaf_viewdata *vd = RT_UAAF_VD;

    vd->resume = UAAF_TRAMP_CALLER_RESUME;
    vd->role = UAAF_ROLE_SESSION;
}

static uint32_t call_seq;

long uaaf_call(uaaf_fn_t f, const void *in, size_t in_len, void *out,
               size_t out_cap)
{
    volatile struct uaaf_call_hdr *h = RT_UAAF_HDR;
    volatile struct uaaf_binding *b;
    uint32_t view, fn;
    int32_t status;

    if (f >= uaaf_import_count())
        return UAAF_ENOENT;
    b = &__uaaf_bindings[f];
    view = b->view;
    fn = b->fn;
    if (view == 0 || view >= UAAF_MAX_VIEWS)
        return UAAF_ENOENT;
    if (in_len > UAAF_CALL_DATA_MAX || out_cap > UAAF_CALL_DATA_MAX)
        return UAAF_E2BIG;
    if ((in_len && in == NULL) || (out_cap && out == NULL))
        return UAAF_EINVAL;

    volatile struct uaaf_viewdata *vd = RT_UAAF_VD;

    h->fn = fn;
    h->in_len = (uint32_t)in_len;
    h->out_cap = (uint32_t)out_cap;
    h->status = UAAF_EBADRET; /* stays if the callee never writes one */
    h->seq = ++call_seq;
    vd->verdict = 0;
    if (in_len)
        memcpy(RT_UAAF_DATA, in, in_len);
    __asm__ __volatile__("" : : : "memory");
    RT_UAAF_TRAMP_CALL(view);
    __asm__ __volatile__("" : : : "memory");

    /* The monitor's verdict is in this view's own page, which no library
     * maps: a callee cannot forge it. What the callee wrote in the shared
     * call area is its result, which may only be a length, ENOENT, E2BIG
     * or EBADRET from its dispatcher, or the function's own error. */
    status = vd->verdict;
    if (status != 0)
        return status;
    status = h->status;
    if (status >= 0) {
        if ((uint32_t)status > out_cap)
            return UAAF_E2BIG;
        if (status > 0)
            memcpy(out, RT_UAAF_DATA, (size_t)status);
    } else if (status >= UAAF_ERRNO_MIN && status != UAAF_ENOENT &&
               status != UAAF_E2BIG && status != UAAF_EBADRET) {
        return UAAF_EBADRET;
    }
    return status;
}
