/*
 * quiet: run with --solo5:quiet. The runtime must strip the option and
 * print nothing of its own, so the only output is SUCCESS.
 */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    if (si->cmdline[0] != '\0')
        return fail("--solo5:quiet was not stripped from the command line");
    return success();
}
