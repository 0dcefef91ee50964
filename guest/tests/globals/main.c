/* globals: initialised data keeps its values and .bss starts zeroed. */
#include "common.h"

volatile int data_int = 0x1234567;
volatile char data_str[] = "uaaf guest data";
volatile uint64_t data_arr[4] = {1, 2, 3, 0xfeedfacecafebeefULL};
volatile int bss_int;
volatile uint64_t bss_arr[1024];

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    if (data_int != 0x1234567)
        return fail("initialised int");
    if (data_str[0] != 'u' || data_str[14] != 'a' || data_str[15] != '\0')
        return fail("initialised string");
    if (data_arr[0] != 1 || data_arr[3] != 0xfeedfacecafebeefULL)
        return fail("initialised array");
    if (bss_int != 0)
        return fail("bss int not zero");
    for (size_t i = 0; i < 1024; i += 64) /* one probe per 512 bytes */
        if (bss_arr[i] != 0)
            return fail("bss array not zero");
    if (bss_arr[1023] != 0)
        return fail("bss array end not zero");
    bss_int = 5;
    data_int = 6;
    bss_arr[1023] = 7;
    if (bss_int != 5 || data_int != 6 || bss_arr[1023] != 7)
        return fail("globals not writable");
    return success();
}
