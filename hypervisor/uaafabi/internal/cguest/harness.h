/*
 * harness.h: what the host-side harness gives guest/runtime/uaaf.c in place
 * of the guest's fixed addresses and linker tables (see uaaf_internal.h,
 * RT_UAAF_HOSTED). Included before uaaf.c by harness.c, and by cguest.go.
 */
#ifndef CGUEST_HARNESS_H
#define CGUEST_HARNESS_H

#include <stdint.h>
#include "uaaf.h"

#define H_MAX_IMPORTS 8
#define H_MAX_EXPORTS 8
#define H_GUARD 64 /* canary bytes around each buffer */

/* What the other side of a call does, set by the test before each call. */
enum h_mode {
    H_DISPATCH = 0, /* the library's real dispatcher serves the call */
    H_FORGE = 1,    /* a hostile callee writes status, data and verdict itself */
};

struct h_script {
    int mode;
    /* H_DISPATCH: a hostile session may rewrite the header first. */
    int rewrite;
    uint32_t fn, in_len, out_cap;
    /* The export: writes fn_write bytes of 0xAB to its out buffer (at most
     * UAAF_CALL_DATA_MAX, its size) and returns fn_ret. */
    uint32_t fn_write;
    int64_t fn_ret;
    /* H_FORGE: what lands in the call area and the view data page. */
    int32_t status, verdict;
    uint32_t data_len;
    uint8_t data_byte;
};

/* What happened, read by the test after each call. */
struct h_trace {
    uint32_t tramp_calls;
    uint64_t view;
    uint32_t fn_calls;
    uint64_t fn_in_len, fn_out_cap;
    int fn_in_matches; /* the export saw the call area's input bytes */
};

extern struct h_script h_script;
extern struct h_trace h_trace;
extern struct uaaf_viewdata h_vd;
/* The call area with H_GUARD canary bytes before and after. */
extern unsigned char h_area[H_GUARD + UAAF_CALL_SIZE + H_GUARD];
extern struct uaaf_import h_imports[H_MAX_IMPORTS];
extern struct uaaf_binding h_bindings[H_MAX_IMPORTS];
extern struct uaaf_export h_exports[H_MAX_EXPORTS];
extern uint32_t h_nimports, h_nexports;

void h_reset(void);
void h_tramp_call(uint64_t view);
long h_uaaf_call(uint32_t f, const void *in, size_t in_len, void *out, size_t out_cap);
void h_dispatch(void);

#endif
