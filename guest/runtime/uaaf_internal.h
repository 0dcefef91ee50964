/*
 * uaaf_internal.h: the runtime's UaaF support (runtime/uaaf.c), shared
 * with boot.c. Not part of the SDK's public interface; the ABI itself is
 * include/uaaf.h.
 */
#ifndef UAAF_RT_UAAF_INTERNAL_H
#define UAAF_RT_UAAF_INTERNAL_H

#include "solo5.h"
#include "uaaf.h"

/* What the image's notes make it (from the linker's entry counts). */
enum rt_uaaf_role {
    RT_UAAF_PLAIN = UAAF_ROLE_NONE,     /* no exports, no imports */
    RT_UAAF_SESSION = UAAF_ROLE_SESSION, /* imports only */
    RT_UAAF_LIBFUNC = UAAF_ROLE_LIBFUNC, /* exports (imports: refused) */
};

/*
 * RT_UAAF_HOSTED is defined only by the host-side test harness that
 * compiles uaaf.c into a Go test (hypervisor/uaafabi/internal/cguest): it
 * supplies the view data page, the call area, the trampoline's call entry
 * and the linker's tables itself. A guest build never defines it.
 */
#ifndef RT_UAAF_HOSTED
/* The view data page and the call area, at their fixed GPAs. */
#define RT_UAAF_VD ((volatile struct uaaf_viewdata *)UAAF_VIEWDATA_GPA)
#define RT_UAAF_HDR ((volatile struct uaaf_call_hdr *)UAAF_CALL_GPA)
#define RT_UAAF_DATA ((unsigned char *)(UAAF_CALL_GPA + UAAF_CALL_HDR_SIZE))
/* The trampoline's caller entry: switch to view (rdi), return after. */
#define RT_UAAF_TRAMP_CALL ((void (*)(uint64_t))UAAF_TRAMP_CALL)

/* Entries from the linker script (guest/lds/hvt.lds). */
extern const struct uaaf_export __uaaf_exports_start[], __uaaf_exports_end[];
extern const struct uaaf_import __uaaf_imports_end[];
extern struct uaaf_binding __uaaf_bindings[];
#endif

enum rt_uaaf_role rt_uaaf_role(void);

/* Library: uaaf_lib_init(), take the callee stack and call buffers from the
 * heap, fill the view data page, report ready at tramp_ready. Never
 * returns; the library then only runs the dispatcher. */
void rt_uaaf_lib_start(const struct solo5_start_info *si)
    __attribute__((noreturn));

/* Session: fill the view data page before solo5_app_main. */
void rt_uaaf_session_init(void);

/* The library's dispatcher, entered from callee_entry on its own stack. */
void rt_uaaf_dispatch(void);

#endif /* UAAF_RT_UAAF_INTERNAL_H */
