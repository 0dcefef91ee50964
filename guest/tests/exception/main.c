/* exception: an invalid opcode must end in the runtime's trap handler
 * (prints ABORT, exits 255). */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_("exception: executing ud2, expecting ABORT\n");
    __asm__ __volatile__("ud2");
    return fail("ud2 did not trap");
}
