/*
 * triplefault (hostile): load an empty IDT, then fault. With no usable
 * gate the #UD escalates to #DF and then to a triple fault (shutdown);
 * the runtime's trap handler never runs, so no HALT is issued.
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {0, 0};

    (void)si;
    puts_("triplefault: empty IDT, then ud2\n");
    __asm__ __volatile__("lidt %0\n\tud2" : : "m"(idtr) : "memory");
    return fail("no triple fault");
}
