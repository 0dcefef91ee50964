/* hello: greet, echo the command line, succeed only for "Hello_Solo5". */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    puts_("Hello, World\n");
    uaaf_printf("command line: '%s'\n", si->cmdline);
    if (strcmp(si->cmdline, "Hello_Solo5") != 0)
        return fail("expected command line 'Hello_Solo5'");
    return success();
}
