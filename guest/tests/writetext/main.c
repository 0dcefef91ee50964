/*
 * writetext (hostile): store into our own code. The guest page tables map
 * text writable; the monitor maps it read-only on the host, so the store
 * must end the run (e.g. an MMIO exit or EFAULT from KVM_RUN).
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)&solo5_app_main;

    (void)si;
    OPAQUE(p);
    puts_("writetext: writing to the text segment\n");
    *p = *p; /* same byte: harmless if it were allowed */
    return fail("write to text succeeded");
}
