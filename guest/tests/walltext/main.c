/*
 * walltext (hostile): a WALLTIME hypercall whose result pointer is the
 * guest's own text. The host keeps text read-only, so the monitor must
 * refuse to write there rather than fault itself.
 */
#include "common.h"
#include "hvt_abi.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_("walltext: WALLTIME into the text segment\n");
    /* The argument is a GPA: this function's own code. */
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((uint32_t)(uintptr_t)solo5_app_main),
                           "Nd"((uint16_t)(HVT_HYPERCALL_PIO_BASE + HVT_HC_WALLTIME))
                         : "memory");
    return fail("monitor wrote WALLTIME's result into read-only text");
}
