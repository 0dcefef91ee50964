/*
 * imports: the source of the imports511 and imports512 sessions. The
 * Makefile generates imports.h with UAAF_IMPORT(l1, nop) ... UAAF_IMPORT(lN,
 * nop), IMPORTS_N and IMPORTS_LAST (= lN): N libraries, all testfns under
 * another name. 511 is the most a session can bind (EPTP list of 512, entry
 * 0 = the session); the monitor must refuse imports512 at bind time.
 *
 * Calls the first and the last import, prints "RESULT first STATUS" and
 * "RESULT last STATUS", then SUCCESS if both returned 0 (else FAILURE).
 */
#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"

#include "imports.h"

/* Expand IMPORTS_LAST before UAAF_FN pastes it. */
#define FN_OF(lib, fn) UAAF_FN(lib, fn)

int solo5_app_main(const struct solo5_start_info *si)
{
    uaaf_fn_t first = UAAF_FN(l1, nop), last = FN_OF(IMPORTS_LAST, nop);
    long a, b;

    (void)si;
    if (uaaf_import_count() != IMPORTS_N || first != 0 ||
        last != IMPORTS_N - 1) {
        uaaf_printf("FAILURE: import table: count %u first %u last %u\n",
                    uaaf_import_count(), first, last);
        return SOLO5_EXIT_FAILURE;
    }
    a = uaaf_call(first, NULL, 0, NULL, 0);
    uaaf_printf("RESULT first %ld\n", a);
    b = uaaf_call(last, NULL, 0, NULL, 0);
    uaaf_printf("RESULT last %ld\n", b);
    if (a != 0 || b != 0) {
        uaaf_printf("FAILURE\n");
        return SOLO5_EXIT_FAILURE;
    }
    uaaf_printf("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
