/* output: print the command line verbatim, followed by a newline. */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    solo5_console_write(si->cmdline, strlen(si->cmdline));
    solo5_console_write("\n", 1);
    return SOLO5_EXIT_SUCCESS;
}
