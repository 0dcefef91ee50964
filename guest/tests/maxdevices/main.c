/* maxdevices: the manifest declares the maximum of 63 block devices
 * storage0..storage62; every one must be acquirable. */
#include "common.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    char name[16] = "storage";
    solo5_handle_t h;
    struct solo5_block_info bi;

    (void)si;
    for (int i = 0; i < 63; i++) {
        size_t n = 7;
        if (i >= 10)
            name[n++] = (char)('0' + i / 10);
        name[n++] = (char)('0' + i % 10);
        name[n] = '\0';
        if (solo5_block_acquire(name, &h, &bi) != SOLO5_R_OK) {
            uaaf_printf("cannot acquire %s\n", name);
            return fail("acquire");
        }
        if (h != (solo5_handle_t)i + 1)
            return fail("handle is not the manifest index");
    }
    return success();
}
