/*
 * uaaf.h: the UaaF extension of the hvt ABI, for library-function
 * unikernels (which export functions) and session unikernels (which import
 * and call them). See guest/UAAF_ABI.md for the full description; every
 * number here is part of the ABI and mirrored in the monitor
 * (hypervisor/uaafabi).
 */
#ifndef UAAF_H
#define UAAF_H

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#endif

/* --- The UaaF window: the same guest-physical addresses in every view --- */

#define UAAF_TRAMP_GPA 0x9000     /* trampoline code, 4 KiB, read-only */
#define UAAF_VIEWDATA_GPA 0xA000  /* per-view data page, private, RW */
#define UAAF_CALL_GPA 0xC000      /* call area, shared by the session's views */
#define UAAF_CALL_SIZE 0x4000     /* 16 KiB */

/* Trampoline entry points (offsets fixed by guest/trampoline/trampoline.S). */
#define UAAF_TRAMP_CALL (UAAF_TRAMP_GPA + 0x000)          /* caller: rdi = view */
#define UAAF_TRAMP_CALLER_RESUME (UAAF_TRAMP_GPA + 0x040) /* view 0 lands here */
#define UAAF_TRAMP_CALLEE_ENTRY (UAAF_TRAMP_GPA + 0x080)  /* view k lands here */
#define UAAF_TRAMP_READY (UAAF_TRAMP_GPA + 0x100)         /* library: "preloaded" */

/* I/O port of the exit-based switch: outl(view, UAAF_SWITCH_PORT). */
#define UAAF_SWITCH_PORT 0x510

#ifndef __ASSEMBLER__
/* Per-view data page at UAAF_VIEWDATA_GPA. */
struct uaaf_viewdata {
    uint64_t resume;    /*  0: where a switch into this view continues */
    uint64_t saved_rsp; /*  8: caller: saved RSP; callee: its stack top */
    uint64_t dispatch;  /* 16: callee: address of void dispatch(void) */
    uint32_t role;      /* 24: UAAF_ROLE_* */
    uint32_t view;      /* 28: this view's EPTP index (written by monitor) */
    int32_t verdict;    /* 32: session: 0, or the UAAF_E* with which the
                           monitor ended the last call (written by monitor) */
};
#endif

#define UAAF_ROLE_NONE 0
#define UAAF_ROLE_SESSION 1
#define UAAF_ROLE_LIBFUNC 2

#ifndef __ASSEMBLER__
/* Call area at UAAF_CALL_GPA: header, then the data buffer. */
struct uaaf_call_hdr {
    uint32_t fn;      /*  0: export index in the callee */
    uint32_t in_len;  /*  4: input bytes at data[0..in_len) */
    uint32_t out_cap; /*  8: room the caller has for output */
    int32_t status;   /* 12: result: output length >= 0, or UAAF_E* < 0 */
    uint32_t seq;     /* 16: call sequence number (informational) */
    uint32_t reserved[11];
};
#endif

#define UAAF_CALL_HDR_SIZE 64
#define UAAF_CALL_DATA_MAX (UAAF_CALL_SIZE - UAAF_CALL_HDR_SIZE) /* 16320 */

/* Call results. Functions return a length >= 0 or an error <= -16; the
 * range -1..-15 belongs to uaaf. */
#define UAAF_EINVAL (-1)    /* bad arguments to uaaf_call */
#define UAAF_ENOENT (-2)    /* import not bound / no such function */
#define UAAF_E2BIG (-3)     /* input or output larger than allowed */
#define UAAF_EFAULT (-4)    /* the function trapped, aborted or left its view */
#define UAAF_ETIMEDOUT (-5) /* the function ran past its deadline */
#define UAAF_EUNAVAIL (-6)  /* the function's instance could not be started */
#define UAAF_EBADRET (-7)   /* the function returned a reserved value */
#define UAAF_ERRNO_MIN (-15)

/* --- Notes (owner "UAAF", namesz 5, name padded to 8, 4-byte aligned) --- */

#define UAAF_NOTE_NAME "UAAF"
#define UAAF_NOTE_NAMESZ 5
#define UAAF_NOTE_EXPORTS 0x50584555U /* "UEXP" */
#define UAAF_NOTE_IMPORTS 0x504d4955U /* "UIMP" */
#define UAAF_NOTE_VERSION 1

#ifndef __ASSEMBLER__
/* Export note descriptor: header, then count entries. */
struct uaaf_exports_hdr {
    uint32_t version;
    uint32_t count;
    uint32_t entry_size; /* sizeof(struct uaaf_export) */
    uint32_t reserved;
};
#define UAAF_EXPORT_NAME_MAX 60 /* NUL included */
struct uaaf_export {
    char name[UAAF_EXPORT_NAME_MAX];
    uint32_t addr; /* the function's address (images live below 4 GiB) */
};
#define UAAF_MAX_EXPORTS 256

/* Import note descriptor: header, then count entries. */
struct uaaf_imports_hdr {
    uint32_t version;
    uint32_t count;
    uint32_t entry_size; /* sizeof(struct uaaf_import) */
    uint32_t bindings;   /* GPA of struct uaaf_binding[count], in .bss */
};
#define UAAF_LIB_NAME_MAX 32 /* NUL included */
#define UAAF_FN_NAME_MAX 32  /* NUL included */
struct uaaf_import {
    char lib[UAAF_LIB_NAME_MAX];
    char fn[UAAF_FN_NAME_MAX];
};
#define UAAF_MAX_IMPORTS 4096

/* Written by the monitor before the session starts: where import i is. */
struct uaaf_binding {
    uint32_t view; /* EPTP index 1..511; 0 = not bound */
    uint32_t fn;   /* export index in that library */
};

/* The EPTP list has 512 entries; index 0 is the session itself. */
#define UAAF_MAX_VIEWS 512

/* --- Library side --------------------------------------------------------- */

/*
 * Exported functions have this signature: read in_len bytes at in, write at
 * most out_cap bytes at out, return the output length or an error <= -16.
 * in and out point into the library's private memory, never the caller's.
 */
typedef long (*uaaf_fn_impl)(const void *in, size_t in_len, void *out,
                             size_t out_cap);

/* UAAF_EXPORT(fn): export function fn under its own name (at file scope). */
#define UAAF_EXPORT(fn)                                                     \
    __asm__(".pushsection .uaaf.exports,\"a\",@progbits\n"                   \
            ".balign 4\n"                                                    \
            "1: .ascii \"" #fn "\"\n"                                        \
            ".if (. - 1b) > 59\n.error \"UAAF_EXPORT: name too long\"\n.endif\n" \
            ".fill 60 - (. - 1b), 1, 0\n"                                    \
            ".long " #fn "\n"                                                \
            ".popsection\n")

/* Optional: called once when the library is preloaded, before it serves. */
int uaaf_lib_init(void);

/* --- Session side --------------------------------------------------------- */

typedef uint32_t uaaf_fn_t;

/*
 * UAAF_IMPORT(lib, fn): import function fn of library lib (at file scope,
 * once per image). UAAF_FN(lib, fn) then names it in uaaf_call.
 */
#define UAAF_IMPORT(lib, fn)                                                \
    __asm__(".pushsection .uaaf.imports,\"a\",@progbits\n"                   \
            ".balign 4\n"                                                    \
            ".globl __uaaf_imp_" #lib "_" #fn "\n"                           \
            "__uaaf_imp_" #lib "_" #fn ":\n"                                 \
            "1: .ascii \"" #lib "\"\n"                                       \
            ".if (. - 1b) > 31\n.error \"UAAF_IMPORT: library name too long\"\n.endif\n" \
            ".fill 32 - (. - 1b), 1, 0\n"                                    \
            "2: .ascii \"" #fn "\"\n"                                        \
            ".if (. - 2b) > 31\n.error \"UAAF_IMPORT: function name too long\"\n.endif\n" \
            ".fill 32 - (. - 2b), 1, 0\n"                                    \
            ".popsection\n")

extern const struct uaaf_import __uaaf_imports_start[];
#define UAAF_FN(lib, fn)                                                    \
    ({                                                                       \
        extern const struct uaaf_import __uaaf_imp_##lib##_##fn;            \
        (uaaf_fn_t)(&__uaaf_imp_##lib##_##fn - __uaaf_imports_start);        \
    })

/*
 * uaaf_call: call imported function f with in_len bytes of input; up to
 * out_cap bytes of output are copied to out. Returns the output length, the
 * function's own error (<= -16), or a UAAF_E* error. Both lengths are
 * bounded by UAAF_CALL_DATA_MAX.
 */
long uaaf_call(uaaf_fn_t f, const void *in, size_t in_len, void *out,
               size_t out_cap);

/* Number of imports, and import i's names (for diagnostics). */
uint32_t uaaf_import_count(void);
const struct uaaf_import *uaaf_import_at(uint32_t i);

/* The view (EPTP index, 1..511) the monitor bound import f to; 0 if none. */
uint32_t uaaf_view_of(uaaf_fn_t f);

/* Human-readable name of a UAAF_E* code. */
const char *uaaf_strerror(long err);

#endif /* !__ASSEMBLER__ */

#endif /* UAAF_H */
