/* exitcode: exit with the status given on the command line (default 0). */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    uint64_t status = 0;

    if (si->cmdline[0] != '\0' && !parse_u64(si->cmdline, &status))
        return fail("command line is not a number");
    uaaf_printf("exitcode: exiting with %lu\n", (unsigned long)status);
    solo5_exit((int)status);
}
